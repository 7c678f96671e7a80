package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/slsync/slsync/internal/safefile"
)

// A saved plan (`slsync plan --out FILE`) is the JSON form plus, per action,
// what was observed live (project id, ETag, key id, phase) and the desired
// spec apply executes, plus the plan's creation time. apply --plan loads it
// and refuses it when the manifests (digest) or live state (ETags, key ids)
// moved since. It contains no secret: plans are built from model values,
// which carry none.

// WriteSaved writes the saved-plan form of p to w.
func WriteSaved(w io.Writer, p *Plan) error {
	return writeJSON(w, toJSON(p, true))
}

// Save writes the saved-plan form of p to path with mode 0600, atomically
// (safefile.Write), so that a crash never leaves half a plan for apply to
// read.
func Save(path string, p *Plan) error {
	var buf bytes.Buffer
	if err := WriteSaved(&buf, p); err != nil {
		return err
	}
	if err := safefile.Write(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return nil
}

// Load reads a plan saved by Save.
func Load(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	defer f.Close()
	p, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("plan file %s: %w", path, err)
	}
	return p, nil
}

// errRecreate ends every "this file cannot be used" error with the fix.
const errRecreate = "re-create it with `slsync plan --out FILE`"

// Read decodes a saved plan, checking its format version and that every
// action carries what apply needs.
func Read(r io.Reader) (*Plan, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var probe struct {
		FormatVersion *string `json:"format_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a slsync plan (invalid JSON: %v); %s", err, errRecreate)
	}
	switch {
	case probe.FormatVersion == nil:
		return nil, fmt.Errorf("not a slsync plan (no format_version); %s", errRecreate)
	case *probe.FormatVersion != FormatVersion:
		return nil, fmt.Errorf("format_version is %q but this slsync reads format_version %q; %s with this version of slsync", *probe.FormatVersion, FormatVersion, errRecreate)
	}
	var jp jsonPlan
	if err := json.Unmarshal(data, &jp); err != nil {
		return nil, fmt.Errorf("damaged plan: %v; %s", err, errRecreate)
	}
	if jp.CreatedAt == nil {
		return nil, fmt.Errorf("this is the output of `slsync plan --format json`, which lacks what apply needs; save a plan with `slsync plan --out FILE`")
	}
	p := &Plan{
		FormatVersion:  jp.FormatVersion,
		Owner:          jp.Owner,
		ManifestDigest: jp.ManifestDigest,
		CreatedAt:      *jp.CreatedAt,
		AllowReplace:   jp.AllowReplace,
	}
	for i, ja := range jp.Actions {
		a, err := fromJSONAction(ja)
		if err != nil {
			return nil, fmt.Errorf("action %d (%s): %v; %s", i+1, ja.Address, err, errRecreate)
		}
		p.Actions = append(p.Actions, a)
	}
	for _, pr := range jp.Problems {
		prob := Problem{Address: pr.Address, Message: pr.Message}
		if pr.Location != nil {
			prob.Location = *pr.Location
		}
		p.Problems = append(p.Problems, prob)
	}
	for _, w := range jp.Warnings {
		warn := Warning{Address: w.Address, Message: w.Message}
		if w.Location != nil {
			warn.Location = *w.Location
		}
		p.Warnings = append(p.Warnings, warn)
	}
	p.summarize()
	return p, nil
}

func fromJSONAction(ja jsonAction) (*Action, error) {
	a := &Action{
		Address: ja.Address, Resource: ja.Resource, Kind: ja.Action, ProjectKey: ja.ProjectKey,
		KeyName: ja.KeyName, Reason: ja.Reason, Refused: ja.Refused, DependsOn: ja.DependsOn,
	}
	for _, ch := range ja.Changes {
		a.Changes = append(a.Changes, Change{Path: ch.Path, Before: ch.Before, After: ch.After, Diff: ch.Diff})
	}
	if o := ja.Observed; o != nil {
		a.Observed = Observed{
			ProjectID: o.ProjectID, ProjectType: o.ProjectType, ETag: o.ETag, Phase: o.Phase,
			KeyID: o.KeyID, KeyName: o.KeyName, ExpiresAt: o.ExpiresAt, KeyMetadata: o.KeyMetadata,
		}
	}
	if d := ja.Desired; d != nil {
		a.Project = d.Project.model()
		a.Key = d.Key.model()
	}
	if a.Address == "" || a.ProjectKey == "" {
		return nil, errors.New("no address or project_key")
	}
	need := func(ok bool, what string) error {
		if !ok {
			return fmt.Errorf("a %s %s action needs %s", a.Resource, a.Kind, what)
		}
		return nil
	}
	switch a.Resource {
	case ResourceProject:
		switch a.Kind {
		case Create:
			return a, need(a.Project != nil, "desired.project")
		case Update, Replace, Adopt:
			if err := need(a.Project != nil, "desired.project"); err != nil {
				return nil, err
			}
			return a, need(a.Observed.ProjectID != "", "observed.project_id")
		case Delete:
			return a, need(a.Observed.ProjectID != "", "observed.project_id")
		}
	case ResourceAPIKey:
		switch a.Kind {
		case Create:
			return a, need(a.Key != nil, "desired.key")
		case Update, Rotate:
			if err := need(a.Key != nil, "desired.key"); err != nil {
				return nil, err
			}
			return a, need(a.Observed.KeyID != "", "observed.key_id")
		case Invalidate:
			return a, need(a.Observed.KeyID != "", "observed.key_id")
		case Adopt:
			if err := need(a.Key != nil, "desired.key"); err != nil {
				return nil, err
			}
			return a, need(a.Observed.KeyID != "", "observed.key_id")
		}
	}
	return nil, fmt.Errorf("unknown action %q on resource %q", a.Kind, a.Resource)
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/emulator"
)

// planActions runs `slsync plan --format json` and returns "address action"
// lines (with " refused" appended to refused ones), sorted, and the exit code.
func (e *applyEnv) planActions(t *testing.T, manifests string) ([]string, int) {
	t.Helper()
	r := e.run(t, "plan", "-f", manifests, "--format", "json")
	var out struct {
		Actions []struct {
			Address string `json:"address"`
			Action  string `json:"action"`
			Refused string `json:"refused"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("plan --format json: %v\nstdout: %s\nstderr: %s", err, r.Stdout, r.Stderr)
	}
	got := []string{}
	for _, a := range out.Actions {
		s := a.Address + " " + a.Action
		if a.Refused != "" {
			s += " refused"
		}
		got = append(got, s)
	}
	sort.Strings(got)
	return got, r.Code
}

// managed finds a project applied by slsync: its id, and the admin
// credentials apply stored (registered with the emulator helpers so that
// e.emu.ES can act as that admin).
func (e *applyEnv) managed(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile(e.credsPath)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Projects map[string]struct{ Key, Username, Password string } `json:"projects"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for id, p := range f.Projects {
		if p.Key == key {
			e.emu.SetCredentials(id, p.Username, p.Password)
			return id
		}
	}
	t.Fatalf("no credentials stored for project %s", key)
	return ""
}

// keyID returns the id of the live managed key with the given slsync_key.
func (e *applyEnv) keyID(t *testing.T, projectID, keyName string) string {
	t.Helper()
	var res struct {
		APIKeys []struct{ ID string } `json:"api_keys"`
	}
	e.emu.ES(t, projectID, "POST", "/_security/_query/api_key", map[string]any{
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{"metadata.slsync_key": keyName}},
			map[string]any{"term": map[string]any{"invalidated": false}},
		}}},
	}).JSON(t, &res)
	if len(res.APIKeys) != 1 {
		t.Fatalf("want one live key %s in %s, got %d", keyName, projectID, len(res.APIKeys))
	}
	return res.APIKeys[0].ID
}

// Out-of-band drift on a fleet applied by slsync plans exactly the actions
// that undo it, and nothing for what slsync does not own.
func TestPlanDetectsDrift(t *testing.T) {
	fleet := example("fleet")
	tests := []struct {
		name  string
		clock func() time.Time // emulator clock during setup and drift
		drift func(t *testing.T, e *applyEnv) (manifests string)
		want  []string
		code  int
	}{
		{
			name: "project renamed",
			drift: func(t *testing.T, e *applyEnv) string {
				id := e.managed(t, "vectors")
				e.emu.Cloud(t, "PATCH", "/api/v1/serverless/projects/elasticsearch/"+id, `{"name":"renamed by hand"}`)
				return fleet
			},
			want: []string{"project.vectors update"},
		},
		{
			name: "tag removed",
			drift: func(t *testing.T, e *applyEnv) string {
				id := e.managed(t, "observability")
				e.emu.Cloud(t, "PATCH", "/api/v1/serverless/projects/observability/"+id, `{"metadata":{"tags":{"env":null}}}`)
				return fleet
			},
			want: []string{"project.observability update"},
		},
		{
			name: "key role changed",
			drift: func(t *testing.T, e *applyEnv) string {
				id := e.managed(t, "search-prod")
				kid := e.keyID(t, id, "catalog-reader")
				e.emu.ES(t, id, "PUT", "/_security/api_key/"+kid, `{"role_descriptors":{"catalog-read":{"indices":[{"names":["catalog"],"privileges":["read"]}]}}}`)
				return fleet
			},
			want: []string{"api_key.search-prod.catalog-reader update"},
		},
		{
			name: "key invalidated",
			drift: func(t *testing.T, e *applyEnv) string {
				id := e.managed(t, "search-prod")
				kid := e.keyID(t, id, "monitoring")
				e.emu.ES(t, id, "DELETE", "/_security/api_key", map[string]any{"ids": []string{kid}})
				return fleet
			},
			want: []string{"api_key.search-prod.monitoring create"},
		},
		{
			// The emulator's clock runs 31 days behind: every key with an
			// expiration of 30 days or less is already expired now.
			name:  "keys expired",
			clock: func() time.Time { return time.Now().Add(-31 * 24 * time.Hour) },
			drift: func(t *testing.T, e *applyEnv) string { return fleet },
			want: []string{
				"api_key.search-prod.catalog-writer rotate",
				"api_key.security.siem-reader rotate",
				"api_key.vectors.embedder rotate",
			},
		},
		{
			name: "project deleted",
			drift: func(t *testing.T, e *applyEnv) string {
				id := e.managed(t, "vectors")
				e.emu.Cloud(t, "DELETE", "/api/v1/serverless/projects/elasticsearch/"+id, nil)
				return fleet
			},
			want: []string{"api_key.vectors.embedder create", "project.vectors create"},
		},
		{
			name: "alias taken by an unmanaged project",
			drift: func(t *testing.T, e *applyEnv) string {
				e.emu.CreateProject(t, "elasticsearch", `{"name":"by hand","region_id":"aws-us-east-1","alias":"catalog"}`)
				dir := t.TempDir()
				src, err := os.ReadFile(filepath.Join(fleet, "slsync.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				extra := "\n  catalog:\n    type: elasticsearch\n    name: Catalog\n    alias: catalog\n    region_id: aws-us-east-1\n"
				if err := os.WriteFile(filepath.Join(dir, "slsync.yaml"), append(src, extra...), 0o644); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			want: []string{"project.catalog create refused"},
			code: exitError,
		},
		{
			name: "other owners' and unmanaged resources are invisible",
			drift: func(t *testing.T, e *applyEnv) string {
				// Another owner's project using the same project key.
				e.emu.CreateProject(t, "elasticsearch", `{"name":"theirs","region_id":"aws-us-east-1",
					"metadata":{"tags":{"slsync-owner":"someone-else","slsync-key":"search-prod"}}}`)
				// A personal key and another owner's key inside a managed project.
				id := e.managed(t, "search-prod")
				e.emu.CreateAPIKey(t, id, `{"name":"personal"}`)
				e.emu.CreateAPIKey(t, id, `{"name":"theirs","metadata":{"slsync_owner":"someone-else","slsync_key":"monitoring"}}`)
				return fleet
			},
			want: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newApplyEnv(t, emulator.Options{InitDelay: 50 * time.Millisecond, Clock: tt.clock})
			if r := e.run(t, "apply", "-f", fleet, "--auto-approve", "--secrets-dir", e.secrets); r.Code != 0 {
				t.Fatalf("apply: %+v", r)
			}
			if tt.clock == nil {
				if got, code := e.planActions(t, fleet); len(got) != 0 || code != 0 {
					t.Fatalf("after apply the plan is not empty (exit %d): %v", code, got)
				}
			}
			manifests := tt.drift(t, e)
			got, code := e.planActions(t, manifests)
			if !reflect.DeepEqual(got, tt.want) || code != tt.code {
				t.Errorf("plan after drift = %v (exit %d)\nwant %v (exit %d)", got, code, tt.want, tt.code)
			}
			if strings.Contains(strings.Join(got, " "), "someone-else") {
				t.Error("another owner's resource appeared in the plan")
			}
		})
	}
}

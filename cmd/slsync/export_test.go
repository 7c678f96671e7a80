package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

// handOrg is an organisation populated by hand over HTTP, as a team would
// have it before slsync: three types, tags, keys made with the admin
// credentials, a key made by another principal (an API key), an invalidated
// key, two projects sharing an alias, and a project another slsync owner
// manages.
type handOrg struct {
	env                           *emulatortest.Env
	search, vectors, logs, siem   string // project ids
	dupA, dupB, theirs            string
	searchPW                      string
	readerID, writerID, derivedID string
	readerEncoded, writerEncoded  string
	credsFile                     string
	cliEnv                        []string
}

func newHandOrg(t *testing.T) *handOrg {
	t.Helper()
	env := emulatortest.Start(t, emulator.Options{})
	o := &handOrg{env: env}
	var user string
	o.search, _, user, o.searchPW = env.CreateProject(t, "elasticsearch",
		`{"name":"Search (prod)","alias":"search","region_id":"aws-us-east-1","search_lake":{"boost_window":14},"metadata":{"tags":{"env":"prod","team":"search"}}}`)
	if user == "" {
		t.Fatal("no admin user")
	}
	o.vectors, _, _, _ = env.CreateProject(t, "elasticsearch", `{"name":"Vectors","alias":"vectors","region_id":"aws-eu-west-1","optimized_for":"vector"}`)
	o.logs, _, _, _ = env.CreateProject(t, "observability", `{"name":"Logs","alias":"logs","region_id":"aws-us-east-1","product_tier":"logs_essentials"}`)
	o.siem, _, _, _ = env.CreateProject(t, "security",
		`{"name":"SIEM","alias":"siem","region_id":"aws-us-east-1","admin_features_package":"enterprise","metadata":{"tags":{"team":"sec"}}}`)
	// No alias: the service derives "shared-name" for both.
	o.dupA, _, _, _ = env.CreateProject(t, "elasticsearch", `{"name":"Shared name","region_id":"aws-us-east-1"}`)
	o.dupB, _, _, _ = env.CreateProject(t, "elasticsearch", `{"name":"Shared name","region_id":"aws-us-east-1"}`)
	o.theirs, _, _, _ = env.CreateProject(t, "elasticsearch",
		`{"name":"Theirs","alias":"theirs","region_id":"aws-us-east-1","metadata":{"tags":{"slsync-owner":"other-team","slsync-key":"theirs"}}}`)

	o.readerID, o.readerEncoded = env.CreateAPIKey(t, o.search, `{"name":"books-reader","expiration":"30d","metadata":{"team":"books"},
		"role_descriptors":{"books-read":{"indices":[{"names":["books"],"privileges":["read"]}]}}}`)
	o.writerID, o.writerEncoded = env.CreateAPIKey(t, o.search, `{"name":"books-writer","role_descriptors":{"w":{"cluster":["monitor"],"indices":[{"names":["books"],"privileges":["create_doc"]}]}}}`)
	oldID, _ := env.CreateAPIKey(t, o.search, `{"name":"old-key"}`)
	if r := env.ES(t, o.search, http.MethodDelete, "/_security/api_key", map[string]any{"ids": []string{oldID}}); r.Status != http.StatusOK {
		t.Fatalf("invalidate: %d %s", r.Status, r.Body)
	}
	// A key made by another principal: an API key, which may only make
	// keys with an explicit empty role descriptor.
	_, parent := env.CreateAPIKey(t, o.search, `{"name":"ci-parent"}`)
	r := env.Do(t, http.MethodPost, env.ESURL(o.search, "/_security/api_key"), "ApiKey "+parent, `{"name":"derived","role_descriptors":{"noop":{}}}`)
	if r.Status != http.StatusOK {
		t.Fatalf("derived key: %d %s", r.Status, r.Body)
	}
	var dk struct{ ID string }
	r.JSON(t, &dk)
	o.derivedID = dk.ID

	o.credsFile = filepath.Join(t.TempDir(), "creds", "credentials.json")
	o.cliEnv = []string{"EC_ENDPOINT=" + env.URL, "EC_API_KEY=" + env.APIKey, "SLSYNC_CREDENTIALS_FILE=" + o.credsFile}
	return o
}

// planJSON runs plan -o json and returns its actions by address and the
// problems' messages.
func planJSON(t *testing.T, o *handOrg, dir string) (map[string]string, []string, cliResult) {
	t.Helper()
	r := runCLI(t, "", o.cliEnv, "", "plan", "-f", dir, "-o", "json")
	var out struct {
		Actions []struct {
			Address string `json:"address"`
			Action  string `json:"action"`
		} `json:"actions"`
		Problems []struct {
			Message  string `json:"message"`
			Location *struct {
				File string `json:"file"`
				Line int    `json:"line"`
			} `json:"location"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("plan json: %v\nstdout:\n%s\nstderr:\n%s", err, r.Stdout, r.Stderr)
	}
	acts := map[string]string{}
	for _, a := range out.Actions {
		acts[a.Address] = a.Action
	}
	var probs []string
	for _, p := range out.Problems {
		msg := p.Message
		if p.Location != nil {
			msg = filepath.Base(p.Location.File) + ": " + msg
		}
		probs = append(probs, msg)
	}
	return acts, probs, r
}

func TestExportValidatePlanAdoptsOnly(t *testing.T) {
	o := newHandOrg(t)
	// Credentials for the search project only: its keys are exported.
	r := runCLI(t, "", o.cliEnv, o.searchPW+"\n", "credentials", "set", "search", "--owner", "team", "--project-id", o.search, "--password-stdin")
	if r.Code != 0 {
		t.Fatalf("credentials set: %+v", r)
	}

	dir := filepath.Join(t.TempDir(), "manifests")
	r = runCLI(t, "", o.cliEnv, "", "export", "--owner", "team", "-o", dir)
	if r.Code != 0 {
		t.Fatalf("export: %+v", r)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	want := "logs.yaml,search.yaml,shared-name-es.yaml,shared-name.yaml,siem.yaml,vectors.yaml"
	if strings.Join(names, ",") != want {
		t.Fatalf("files = %v, want %s; stderr:\n%s", names, want, r.Stderr)
	}
	for _, note := range []string{`managed by slsync owner "other-team" left out`, `"derived" (id ` + o.derivedID, "an API key of user",
		"no credentials in the credentials file, so its API keys are not exported"} {
		if !strings.Contains(r.Stderr, note) {
			t.Errorf("stderr lacks %q:\n%s", note, r.Stderr)
		}
	}
	search, _ := os.ReadFile(filepath.Join(dir, "search.yaml"))
	for _, s := range []string{"# yaml-language-server: $schema=", "# elasticsearch project id " + o.search, "adopt: true", "alias: search\n",
		"boost_window: 14", "env: prod", "books-reader:", "# key id " + o.readerID, "expiration: 30d", "team: books", "books-writer:", "- monitor"} {
		if !strings.Contains(string(search), s) {
			t.Errorf("search.yaml lacks %q:\n%s", s, search)
		}
	}
	for _, s := range []string{"general_purpose", "old-key", "derived", "slsync_", "allow_restricted_indices", o.searchPW} {
		if strings.Contains(string(search), s) {
			t.Errorf("search.yaml holds %q:\n%s", s, search)
		}
	}
	// ci-parent is the admin's own key (it made the derived one): exported,
	// with its empty role descriptors (it inherits the admin's privileges).
	if !strings.Contains(string(search), "ci-parent:\n        role_descriptors: {}") {
		t.Errorf("ci-parent not exported as it is:\n%s", search)
	}

	// The export validates...
	if v := runCLI(t, "", nil, "", "validate", "-f", dir); v.Code != 0 {
		t.Fatalf("validate: %+v", v)
	}
	// ...and planning it shows only adopts.
	acts, probs, pr := planJSON(t, o, dir)
	if len(probs) != 0 || pr.Code != 0 {
		t.Fatalf("plan problems %v, exit %d; stderr:\n%s", probs, pr.Code, pr.Stderr)
	}
	for _, addr := range []string{"project.search", "project.vectors", "project.logs", "project.siem", "project.shared-name", "project.shared-name-es",
		"api_key.search.books-reader", "api_key.search.books-writer", "api_key.search.ci-parent"} {
		if acts[addr] != "adopt" {
			t.Errorf("%s: %q, want adopt (all: %v)", addr, acts[addr], acts)
		}
	}
	for addr, kind := range acts {
		if kind != "adopt" {
			t.Errorf("%s: %s — planning an export must show only adopts", addr, kind)
		}
	}

	// -o - writes the same projects as one manifest that validates.
	r = runCLI(t, "", o.cliEnv, "", "export", "--owner", "team", "-o", "-", "--type", "elasticsearch", "--tag", "env=prod")
	if r.Code != 0 || strings.Count(r.Stdout, "adopt: true") != 1 || !strings.Contains(r.Stdout, "  search:\n") || strings.Contains(r.Stdout, "vectors") {
		t.Fatalf("export -o - with filters: %+v", r)
	}
	one := filepath.Join(t.TempDir(), "one.yaml")
	os.WriteFile(one, []byte(r.Stdout), 0o644)
	if v := runCLI(t, "", nil, "", "validate", "-f", one); v.Code != 0 {
		t.Fatalf("validate stdout export: %+v", v)
	}
	// Exporting over existing files is refused without --force.
	r = runCLI(t, "", o.cliEnv, "", "export", "--owner", "team", "-o", dir)
	if r.Code != 1 || !strings.Contains(r.Stderr, "--force") {
		t.Fatalf("export over existing files: %+v", r)
	}

	// A manifest key named like a key another principal owns cannot be
	// adopted (only a key's owner may update it): the plan rotates it.
	other := writeFiles(t, map[string]string{"m.yaml": "owner: team\nprojects:\n  search:\n    type: elasticsearch\n    name: Search (prod)\n" +
		"    alias: search\n    region_id: aws-us-east-1\n    adopt: true\n    api_keys:\n      derived: {}\n"})
	acts, probs, _ = planJSON(t, o, other)
	if len(probs) != 0 || len(acts) != 2 || acts["project.search"] != "adopt" || acts["api_key.search.derived"] != "rotate" {
		t.Fatalf("foreign key: actions %v, problems %v", acts, probs)
	}

	// The keys still authenticate (nothing was changed by export or plan).
	for _, enc := range []string{o.readerEncoded, o.writerEncoded} {
		if r := o.env.Do(t, http.MethodGet, o.env.ESURL(o.search, "/_security/_authenticate"), "ApiKey "+enc, nil); r.Status != http.StatusOK {
			t.Fatalf("key no longer authenticates: %d", r.Status)
		}
	}
}

func TestAdoptionErrorsAreLocated(t *testing.T) {
	o := newHandOrg(t)
	dir := writeFiles(t, map[string]string{"m.yaml": `owner: team
projects:
  dup:
    type: elasticsearch
    name: Shared name
    alias: shared-name
    region_id: aws-us-east-1
    adopt: true
  theirs:
    type: elasticsearch
    name: Theirs
    alias: theirs
    region_id: aws-us-east-1
    adopt: true
`})
	acts, probs, r := planJSON(t, o, dir)
	if r.Code != 1 || len(acts) != 0 || len(probs) != 2 {
		t.Fatalf("exit %d, actions %v, problems %v", r.Code, acts, probs)
	}
	sort.Strings(probs)
	if !strings.HasPrefix(probs[0], "m.yaml: project dup has adopt: true and 2 unmanaged elasticsearch projects have alias \"shared-name\"") ||
		!strings.Contains(probs[0], o.dupA) || !strings.Contains(probs[0], o.dupB) {
		t.Errorf("ambiguous alias: %q", probs[0])
	}
	if !strings.HasPrefix(probs[1], "m.yaml: ") || !strings.Contains(probs[1], "never adopts another owner's project implicitly") {
		t.Errorf("another owner's project: %q", probs[1])
	}
	// In text form the problem names file:line:col.
	tr := runCLI(t, "", o.cliEnv, "", "plan", "-f", dir)
	if tr.Code != 1 || !strings.Contains(tr.Stdout, filepath.Join(dir, "m.yaml")+":3:3") {
		t.Fatalf("text plan: %+v", tr)
	}
	// adopt: <id> resolves the ambiguity.
	fixed := writeFiles(t, map[string]string{"m.yaml": "owner: team\nprojects:\n  dup:\n    type: elasticsearch\n    name: Shared name\n    region_id: aws-us-east-1\n    adopt: " + o.dupB + "\n"})
	acts, probs, _ = planJSON(t, o, fixed)
	if len(probs) != 0 || acts["project.dup"] != "adopt" {
		t.Fatalf("adopt by id: %v %v", acts, probs)
	}
}

func basicAuth(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

// The first-day workflow end to end: export → apply → the plan is empty,
// the ids are unchanged and the keys still authenticate with their old
// secrets.
func TestExportApplyAdoptsInPlace(t *testing.T) {
	o := newHandOrg(t)
	if r := runCLI(t, "", o.cliEnv, o.searchPW, "credentials", "set", "search", "--owner", "team", "--project-id", o.search, "--password-stdin"); r.Code != 0 {
		t.Fatalf("credentials set: %+v", r)
	}
	dir := filepath.Join(t.TempDir(), "manifests")
	if r := runCLI(t, "", o.cliEnv, "", "export", "--owner", "team", "-o", dir); r.Code != 0 {
		t.Fatalf("export: %+v", r)
	}
	r := runCLI(t, "", o.cliEnv, "", "apply", "-f", dir, "--auto-approve")
	if r.Code != 0 {
		t.Fatalf("apply: %+v", r)
	}
	noSecret(t, "apply", r, o.searchPW, o.env.APIKey)
	r = runCLI(t, "", o.cliEnv, "", "plan", "-f", dir, "--detailed-exitcode")
	if r.Code != 0 || !strings.Contains(r.Stdout, "No changes.") {
		t.Fatalf("plan after apply: %+v", r)
	}
	// Same projects (ids), now tagged; same keys, now carrying metadata.
	for id, key := range map[string]string{o.search: "search", o.vectors: "vectors", o.logs: "logs", o.siem: "siem"} {
		typ := "elasticsearch"
		switch id {
		case o.logs:
			typ = "observability"
		case o.siem:
			typ = "security"
		}
		var p struct {
			Metadata struct{ Tags map[string]string } `json:"metadata"`
		}
		g := o.env.Cloud(t, http.MethodGet, "/api/v1/serverless/projects/"+typ+"/"+id, nil)
		if g.Status != http.StatusOK {
			t.Fatalf("project %s is gone: %d", id, g.Status)
		}
		g.JSON(t, &p)
		if p.Metadata.Tags["slsync-owner"] != "team" || p.Metadata.Tags["slsync-key"] != key {
			t.Fatalf("project %s tags = %v", id, p.Metadata.Tags)
		}
	}
	var keys struct {
		APIKeys []struct {
			ID       string         `json:"id"`
			Name     string         `json:"name"`
			Metadata map[string]any `json:"metadata"`
		} `json:"api_keys"`
	}
	o.env.ES(t, o.search, http.MethodGet, "/_security/api_key?id="+o.readerID, nil).JSON(t, &keys)
	if len(keys.APIKeys) != 1 || keys.APIKeys[0].Metadata["slsync_owner"] != "team" || keys.APIKeys[0].Metadata["slsync_key"] != "books-reader" ||
		keys.APIKeys[0].Metadata["slsync_expiration"] != "30d" || keys.APIKeys[0].Metadata["team"] != "books" {
		t.Fatalf("adopted key = %+v", keys.APIKeys)
	}
	for _, enc := range []string{o.readerEncoded, o.writerEncoded} {
		if r := o.env.Do(t, http.MethodGet, o.env.ESURL(o.search, "/_security/_authenticate"), "ApiKey "+enc, nil); r.Status != http.StatusOK {
			t.Fatalf("an adopted key no longer authenticates: %d", r.Status)
		}
	}
}

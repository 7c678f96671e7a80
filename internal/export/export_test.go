package export

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/state"
)

// Export costs three list calls plus one key query per exported project
// whose credentials are known, and its files load back as manifests.
func TestExportAgainstEmulator(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	withCreds, es, user, pw := env.CreateProject(t, "elasticsearch", `{"name":"A","alias":"a","region_id":"aws-us-east-1"}`)
	env.CreateProject(t, "security", `{"name":"B","alias":"b","region_id":"aws-us-east-1"}`)
	env.CreateProject(t, "observability", `{"name":"C","alias":"c","region_id":"aws-us-east-1","metadata":{"tags":{"env":"dev"}}}`)
	env.CreateAPIKey(t, withCreds, `{"name":"reader","expiration":"10d"}`)

	opts := cloud.Options{}
	pc, err := cloud.NewProjectClient(env.URL, model.Secret(env.APIKey), opts)
	if err != nil {
		t.Fatal(err)
	}
	creds := cloud.NewCredentials(filepath.Join(t.TempDir(), "c.json"))
	if err := creds.Put(cloud.CredentialEntry{ProjectID: withCreds, Username: user, Password: model.Secret(pw), Endpoint: es}); err != nil {
		t.Fatal(err)
	}
	ex := &Exporter{Projects: pc, Credentials: creds, NewKeyAPI: state.ESClients(opts)}
	env.Server.ResetStats()
	res, err := ex.Export(context.Background(), Options{Owner: "team", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Stats(t).Total; got != 4 {
		t.Fatalf("calls = %d, want 3 lists + 1 key query: %v", got, env.Stats(t).ByRoute)
	}
	if len(res.Files) != 3 || res.Files[0].Name != "a.yaml" || !strings.Contains(string(res.Files[0].Data), "reader:\n        expiration: 10d") {
		t.Fatalf("%d files; combined:\n%s", len(res.Files), res.Combined)
	}
	if strings.Contains(string(res.Combined), pw) {
		t.Fatal("a password reached the export")
	}
	// Filtered by tag: one project, still three list calls, no key query.
	env.Server.ResetStats()
	res, err = ex.Export(context.Background(), Options{Owner: "team", Now: time.Now(), Tags: map[string]string{"env": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Projects) != 1 || res.Projects[0].Key != "c" || env.Stats(t).Total != 3 {
		t.Fatalf("filtered export: %d projects, %d calls", len(res.Projects), env.Stats(t).Total)
	}
	if _, err := ex.Export(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "--owner") {
		t.Fatalf("no owner: %v", err)
	}
}

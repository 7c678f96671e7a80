package state

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/model"
)

// derivedKey creates a key in p as an API key (not as the admin user), with
// the explicit empty role descriptor the derived-key rule demands: a key
// the admin user does not own.
func (f *fixture) derivedKey(t *testing.T, p *cloud.CreatedProject, name string) string {
	t.Helper()
	parent, err := f.es(t, p).CreateAPIKey(context.Background(), &cloud.CreateAPIKeyRequest{Name: "parent-of-" + name})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"name":"` + name + `","role_descriptors":{"noop":{}}}`
	req, err := http.NewRequest(http.MethodPost, p.Endpoints["elasticsearch"]+"/_security/api_key", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "ApiKey "+parent.Encoded.Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("derived key: HTTP %d", resp.StatusCode)
	}
	return name
}

func TestReadAdopteeKeysInOneQuery(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	ctx := context.Background()
	hand := f.project(t, model.Elasticsearch, "", "", "hand", nil, nil)
	own := f.key(t, hand, "reader", "", map[string]any{"team": "books"})
	f.key(t, hand, "unrelated", "", nil)
	gone := f.key(t, hand, "writer", "", nil)
	if _, err := f.es(t, hand).InvalidateAPIKeys(ctx, []string{gone.ID}); err != nil {
		t.Fatal(err)
	}
	f.key(t, hand, "ingest", "", map[string]any{model.MetaOwner: "other", model.MetaKey: "ingest"})
	f.derivedKey(t, hand, "derived")
	// A second unmanaged project with the same alias but another type is not
	// the adoptee; nor is a project without credentials read at all.
	f.project(t, model.Observability, "", "", "hand-obs", nil, func(r *cloud.CreateProjectRequest) { r.Alias, r.Name = "", "hand" })
	nocreds := f.project(t, model.Security, "", "", "nocreds", nil, nil)
	f.creds.Remove(nocreds.ID)

	desired := &model.Set{Owner: owner, Projects: map[string]*model.Project{
		"hand": {Key: "hand", Type: model.Elasticsearch, Alias: "hand", Adopt: "true", APIKeys: map[string]*model.APIKey{
			"reader": {Key: "reader"}, "w": {Key: "w", Name: "writer"}, "ingest": {Key: "ingest"}, "derived": {Key: "derived"}}},
		"sec":   {Key: "sec", Type: model.Security, Adopt: nocreds.ID, APIKeys: map[string]*model.APIKey{"k": {Key: "k"}}},
		"quiet": {Key: "quiet", Type: model.Security, Alias: "nothing-here", Adopt: "true"},
	}}
	f.emu.ResetStats()
	st, err := f.reader(4).Read(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	// 3 lists + 1 key query (hand) + 1 regions (quiet will be created or fail).
	if got := f.emu.Stats().Total; got != 5 {
		t.Fatalf("calls = %d, want 5: %v", got, f.emu.Stats().ByRoute)
	}
	var lp *model.LiveProject
	for _, o := range st.Others {
		if o.ID == hand.ID {
			lp = o
		}
	}
	if lp == nil {
		t.Fatal("adoptee not among Others")
	}
	var names []string
	for _, k := range lp.UnmanagedKeys {
		names = append(names, k.Name)
	}
	sort.Strings(names)
	// Only unmanaged, non-invalidated keys with a wanted name.
	if strings.Join(names, ",") != "derived,reader" || len(lp.Keys) != 0 {
		t.Fatalf("unmanaged keys = %v, managed keys = %d", names, len(lp.Keys))
	}
	if lp.KeysUsername != hand.Credentials.Username {
		t.Fatalf("KeysUsername = %q", lp.KeysUsername)
	}
	for _, k := range lp.UnmanagedKeys {
		switch k.Name {
		case "reader":
			if k.ID != own.ID || !k.OwnedBy(lp.KeysUsername) || k.Metadata["team"] != "books" {
				t.Fatalf("reader = %+v", k)
			}
		case "derived":
			if k.OwnedBy(lp.KeysUsername) || k.Realm != model.APIKeyRealm {
				t.Fatalf("a key made by an API key is not the admin's: %+v", k)
			}
		}
	}
	var mc *MissingCredentialsError
	if err := st.KeyErrors["sec"]; !errors.As(err, &mc) || mc.ProjectID != nocreds.ID || mc.ProjectKey != "sec" {
		t.Fatalf("key errors = %v", st.KeyErrors)
	}
}

func TestAdoptee(t *testing.T) {
	es := func(id, alias, own string) *model.LiveProject {
		return &model.LiveProject{Project: model.Project{Type: model.Elasticsearch, Alias: alias}, ID: id, Owner: own}
	}
	others := []*model.LiveProject{es("a1", "a", ""), es("b1", "b", ""), es("b2", "b", ""), es("c1", "c", "other"), es("d1", "d", owner),
		{Project: model.Project{Type: model.Security, Alias: "a"}, ID: "s1"}}
	cases := []struct {
		adopt, alias string
		typ          model.ProjectType
		want         string
	}{
		{"true", "a", model.Elasticsearch, "a1"},
		{"true", "a", model.Security, "s1"},
		{"true", "b", model.Elasticsearch, ""}, // ambiguous
		{"true", "c", model.Elasticsearch, ""}, // another owner's
		{"c1", "", model.Elasticsearch, "c1"},  // ... unless named by id
		{"c1", "", model.Security, ""},         // wrong type
		{"true", "d", model.Elasticsearch, "d1"},
		{"true", "", model.Elasticsearch, ""},
		{"zz", "a", model.Elasticsearch, ""},
	}
	for _, c := range cases {
		got := Adoptee(&model.Project{Type: c.typ, Alias: c.alias, Adopt: c.adopt}, owner, others)
		id := ""
		if got != nil {
			id = got.ID
		}
		if id != c.want {
			t.Errorf("adopt %q alias %q type %s: got %q, want %q", c.adopt, c.alias, c.typ, id, c.want)
		}
	}
}

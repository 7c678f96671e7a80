package plan

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/model"
)

// unmanagedKey is a key made by hand: no slsync metadata.
func unmanagedKey(t testing.TB, id, name, username, realm, roleJSON string, meta map[string]any, created time.Time, expiresAt *time.Time) *model.LiveAPIKey {
	t.Helper()
	if meta == nil {
		meta = map[string]any{}
	}
	return &model.LiveAPIKey{
		APIKey:    model.APIKey{Name: name, RoleDescriptors: js(t, roleJSON), Metadata: meta},
		ID:        id,
		Username:  username,
		Realm:     realm,
		Creation:  created,
		ExpiresAt: expiresAt,
	}
}

// adoptFixture: an unmanaged project "books" with hand-made keys, wanted
// with adopt: true and four keys; and a managed project still carrying
// adopt: true.
func adoptFixture(t testing.TB) (*model.Set, *model.LiveState) {
	t.Helper()
	desired := &model.Project{Key: "books", Type: model.Elasticsearch, Name: "Books", Alias: "books", RegionID: "aws-us-east-1",
		Adopt: "true", At: at(3), APIKeys: map[string]*model.APIKey{
			// adopted as is (expiry within a day of the manifest's 30d)
			"reader": {Key: "reader", Expiration: "30d", RoleDescriptors: js(t, booksReadManifest), Metadata: map[string]any{"team": "books"}, At: at(8)},
			// adopted, with a role descriptor change riding on the adopt action
			"writer": {Key: "writer", RoleDescriptors: js(t, booksWriteWanted), At: at(14)},
			// made by an API key: cannot be adopted, rotated
			"ingest": {Key: "ingest", Name: "ingest-key", RoleDescriptors: js(t, booksReadManifest), At: at(20)},
			// nothing of that name: created
			"fresh": {Key: "fresh", At: at(26)},
		}}
	kept := &model.Project{Key: "kept", Type: model.Observability, Name: "Kept", Alias: "kept", RegionID: "aws-us-east-1", Adopt: "true", At: at(30)}
	set := &model.Set{Owner: owner, Projects: map[string]*model.Project{"books": desired, "kept": kept}, Digest: "adopt"}

	lp := liveProject(desired, "b00k5000000000000000000000000000")
	lp.Owner, lp.Key = "", ""
	lp.Tags = map[string]string{}
	exp := now.Add(29*24*time.Hour + 3*time.Hour)
	created := now.Add(-24 * time.Hour)
	lp.KeysUsername = "admin"
	lp.UnmanagedKeys = []*model.LiveAPIKey{
		unmanagedKey(t, "k-reader", "reader", "admin", "default_file", booksReadLive, map[string]any{"team": "books"}, created, &exp),
		unmanagedKey(t, "k-writer", "writer", "admin", "default_file", booksWriteLive, nil, created, nil),
		unmanagedKey(t, "k-ingest", "ingest-key", "admin", model.APIKeyRealm, booksReadLive, nil, created, nil),
	}
	kl := liveProject(kept, "ke9t0000000000000000000000000000")
	kl.Key = "kept"
	live := &model.LiveState{Owner: owner, Managed: []*model.LiveProject{kl}, Others: []*model.LiveProject{lp}}
	return set, live
}

func TestAdoptKeys(t *testing.T) {
	set, live := adoptFixture(t)
	p := Compute(set, live, Options{Now: now})
	if len(p.Problems) != 0 {
		t.Fatalf("problems: %+v", p.Problems)
	}
	kinds := map[string]Kind{}
	for _, a := range p.Actions {
		kinds[a.Address] = a.Kind
	}
	want := map[string]Kind{
		"project.books":        Adopt,
		"api_key.books.reader": Adopt,
		"api_key.books.writer": Adopt,
		"api_key.books.ingest": Rotate,
		"api_key.books.fresh":  Create,
	}
	if len(kinds) != len(want) {
		t.Fatalf("actions = %v, want %v", kinds, want)
	}
	for addr, k := range want {
		if kinds[addr] != k {
			t.Errorf("%s: %s, want %s", addr, kinds[addr], k)
		}
	}
	reader := p.Action("api_key.books.reader")
	if reader.Observed.KeyID != "k-reader" || len(reader.Changes) != 3 || reader.Changed("expiration") || reader.Changed("role_descriptors") ||
		reader.Key == nil || reader.Key.Key != "reader" || reader.Observed.KeyMetadata["team"] != "books" ||
		strings.Join(reader.DependsOn, ",") != "project.books" {
		t.Fatalf("reader adopt = %+v", reader)
	}
	paths := []string{}
	for _, ch := range reader.Changes {
		paths = append(paths, ch.Path)
	}
	if strings.Join(paths, ",") != "metadata.slsync_owner,metadata.slsync_key,metadata.slsync_expiration" {
		t.Fatalf("reader changes = %v", paths)
	}
	writer := p.Action("api_key.books.writer")
	if !writer.Changed("role_descriptors") || writer.Changed("expiration") || !strings.Contains(writer.Reason, "also changes role_descriptors") {
		t.Fatalf("writer adopt = %+v", writer)
	}
	ingest := p.Action("api_key.books.ingest")
	if ingest.Observed.KeyID != "k-ingest" || !strings.Contains(ingest.Reason, "an API key of user admin") ||
		!strings.Contains(ingest.Reason, "only a key's owner") {
		t.Fatalf("ingest rotation = %+v", ingest)
	}
	if len(p.Warnings) != 1 || p.Warnings[0].Address != "project.kept" || p.Warnings[0].Location != at(30) ||
		!strings.Contains(p.Warnings[0].Message, "already managed") {
		t.Fatalf("warnings = %+v", p.Warnings)
	}
	if p.HasErrors() || p.ExitCode() != 2 {
		t.Fatalf("a warning must not fail the plan: exit %d", p.ExitCode())
	}
}

func TestAdoptKeyCases(t *testing.T) {
	created := now.Add(-time.Hour)
	in := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	day := 24 * time.Hour
	cases := []struct {
		name    string
		want    model.APIKey
		keys    func(t testing.TB) []*model.LiveAPIKey
		kind    Kind // "" with problem
		problem string
		changed string // a path the action must change
		keyID   string
	}{
		{name: "no candidate creates", want: model.APIKey{Key: "a"}, keys: func(t testing.TB) []*model.LiveAPIKey {
			return []*model.LiveAPIKey{unmanagedKey(t, "x", "other-name", "admin", "default_file", `{}`, nil, created, nil)}
		}, kind: Create},
		{name: "expired candidate ignored", want: model.APIKey{Key: "a"}, keys: func(t testing.TB) []*model.LiveAPIKey {
			return []*model.LiveAPIKey{unmanagedKey(t, "x", "a", "admin", "default_file", `{}`, nil, created, in(-time.Minute))}
		}, kind: Create},
		{name: "two own candidates are a problem", want: model.APIKey{Key: "a", At: at(9)}, keys: func(t testing.TB) []*model.LiveAPIKey {
			return []*model.LiveAPIKey{unmanagedKey(t, "x1", "a", "admin", "default_file", `{}`, nil, created, nil),
				unmanagedKey(t, "x2", "a", "admin", "default_file", `{}`, nil, created, nil)}
		}, problem: "cannot tell which one"},
		{name: "another user's key is rotated", want: model.APIKey{Key: "a"}, keys: func(t testing.TB) []*model.LiveAPIKey {
			return []*model.LiveAPIKey{unmanagedKey(t, "x", "a", "alice", "saml", `{}`, nil, created, nil)}
		}, kind: Rotate, keyID: "x"},
		{name: "own key preferred over another user's", want: model.APIKey{Key: "a"}, keys: func(t testing.TB) []*model.LiveAPIKey {
			return []*model.LiveAPIKey{unmanagedKey(t, "x", "a", "alice", "saml", `{}`, nil, created, nil),
				unmanagedKey(t, "y", "a", "admin", "default_file", `{}`, nil, created, nil)}
		}, kind: Adopt, keyID: "y"},
		{name: "expiry the manifest drops needs a rotation", want: model.APIKey{Key: "a"}, keys: func(t testing.TB) []*model.LiveAPIKey {
			return []*model.LiveAPIKey{unmanagedKey(t, "x", "a", "admin", "default_file", `{}`, nil, created, in(10*day))}
		}, kind: Rotate, keyID: "x", changed: "expiration"},
		{name: "expiration far from the manifest's is set", want: model.APIKey{Key: "a", Expiration: "30d"}, keys: func(t testing.TB) []*model.LiveAPIKey {
			return []*model.LiveAPIKey{unmanagedKey(t, "x", "a", "admin", "default_file", `{}`, nil, created, in(2*day))}
		}, kind: Adopt, keyID: "x", changed: "expiration"},
		{name: "no expiry live, one wanted", want: model.APIKey{Key: "a", Expiration: "7d"}, keys: func(t testing.TB) []*model.LiveAPIKey {
			return []*model.LiveAPIKey{unmanagedKey(t, "x", "a", "admin", "default_file", `{}`, nil, created, nil)}
		}, kind: Adopt, keyID: "x", changed: "expiration"},
		{name: "expiry rounded up to days matches", want: model.APIKey{Key: "a", Expiration: "3d"}, keys: func(t testing.TB) []*model.LiveAPIKey {
			return []*model.LiveAPIKey{unmanagedKey(t, "x", "a", "admin", "default_file", `{}`, nil, created, in(2*day+time.Hour))}
		}, kind: Adopt, keyID: "x"},
		{name: "metadata change rides on the adopt", want: model.APIKey{Key: "a", Metadata: map[string]any{"team": "b"}}, keys: func(t testing.TB) []*model.LiveAPIKey {
			return []*model.LiveAPIKey{unmanagedKey(t, "x", "a", "admin", "default_file", `{}`, map[string]any{"team": "a"}, created, nil)}
		}, kind: Adopt, keyID: "x", changed: "metadata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			d := &model.Project{Key: "p", Type: model.Elasticsearch, Name: "P", Alias: "p", RegionID: "aws-us-east-1",
				APIKeys: map[string]*model.APIKey{want.Key: &want}}
			lp := liveProject(d, "p0000000000000000000000000000000")
			lp.Key = "p"
			lp.KeysUsername = "admin"
			lp.UnmanagedKeys = tc.keys(t)
			p := Compute(&model.Set{Owner: owner, Projects: map[string]*model.Project{"p": d}}, &model.LiveState{Owner: owner, Managed: []*model.LiveProject{lp}}, Options{Now: now})
			a := p.Action("api_key.p." + want.Key)
			if tc.problem != "" {
				if a != nil || len(p.Problems) != 1 || !strings.Contains(p.Problems[0].Message, tc.problem) || p.Problems[0].Location != want.At {
					t.Fatalf("want a located problem %q, got action %+v, problems %+v", tc.problem, a, p.Problems)
				}
				return
			}
			if a == nil || a.Kind != tc.kind || len(p.Problems) != 0 {
				t.Fatalf("action = %+v, problems %+v; want %s", a, p.Problems, tc.kind)
			}
			if a.Observed.KeyID != tc.keyID {
				t.Fatalf("observed key = %q, want %q", a.Observed.KeyID, tc.keyID)
			}
			if tc.changed != "" && !a.Changed(tc.changed) {
				t.Fatalf("%s not changed: %+v", tc.changed, a.Changes)
			}
			if tc.changed == "" && (a.Changed("expiration") || a.Changed("metadata.")) {
				t.Fatalf("unexpected changes: %+v", a.Changes)
			}
		})
	}
}

// A managed key wins over an unmanaged one of the same name; an adopt marker
// naming another id on a managed project is a warning, not an error.
func TestAdoptManagedWinsAndMarkerWarnings(t *testing.T) {
	k := &model.APIKey{Key: "a"}
	d := &model.Project{Key: "p", Type: model.Elasticsearch, Name: "P", Alias: "p", RegionID: "aws-us-east-1",
		Adopt: "0123456789abcdef0123456789abcdef", APIKeys: map[string]*model.APIKey{"a": k}}
	lp := liveProject(d, "p0000000000000000000000000000000")
	lp.Key = "p"
	lp.KeysUsername = "admin"
	lp.Keys = []*model.LiveAPIKey{liveKey(t, k, "managed", `{}`, now.Add(-time.Hour), 0)}
	lp.UnmanagedKeys = []*model.LiveAPIKey{unmanagedKey(t, "hand", "a", "admin", "default_file", `{}`, nil, now, nil)}
	p := Compute(&model.Set{Owner: owner, Projects: map[string]*model.Project{"p": d}}, &model.LiveState{Owner: owner, Managed: []*model.LiveProject{lp}}, Options{Now: now})
	if len(p.Actions) != 0 {
		t.Fatalf("actions = %+v", p.Actions[0])
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0].Message, "remove it") {
		t.Fatalf("warnings = %+v", p.Warnings)
	}
	var buf bytes.Buffer
	for _, f := range []string{FormatText, FormatMarkdown, FormatJSON} {
		buf.Reset()
		if err := Render(&buf, p, f, false); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "already managed as project id p0000000000000000000000000000000") {
			t.Errorf("%s rendering lacks the warning:\n%s", f, buf.String())
		}
	}
}

func TestGoldenAdopt(t *testing.T) {
	set, live := adoptFixture(t)
	p := Compute(set, live, Options{Now: now})
	for _, tc := range []struct{ file, format string }{
		{"adopt.txt.golden", FormatText},
		{"adopt.md.golden", FormatMarkdown},
		{"adopt.json.golden", FormatJSON},
	} {
		var buf bytes.Buffer
		if err := Render(&buf, p, tc.format, false); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.file, buf.Bytes())
	}
	// A saved adoption plan loads back with what apply needs.
	var buf bytes.Buffer
	if err := WriteSaved(&buf, p); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	a := back.Action("api_key.books.reader")
	if a == nil || a.Kind != Adopt || a.Observed.KeyID != "k-reader" || a.Key == nil || a.Key.Expiration != "30d" || len(back.Warnings) != 1 {
		t.Fatalf("saved adopt action = %+v, warnings %v", a, back.Warnings)
	}
}

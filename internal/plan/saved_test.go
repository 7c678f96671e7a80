package plan

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	p := richPlan(t)
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := Save(path, p); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("saved plan mode %o, want 600", mode)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("Save left temporary files: %v", entries)
	}

	q, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Everything survives: saving the loaded plan gives the same bytes.
	var a, b bytes.Buffer
	if err := WriteSaved(&a, p); err != nil {
		t.Fatal(err)
	}
	if err := WriteSaved(&b, q); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("saved → loaded → saved differs")
	}
	if q.Summary != p.Summary || q.HasErrors() != p.HasErrors() || q.HasChanges() != p.HasChanges() {
		t.Errorf("summary %+v, want %+v", q.Summary, p.Summary)
	}
	if !q.CreatedAt.Equal(now) || q.ManifestDigest != p.ManifestDigest || !q.AllowReplace {
		t.Errorf("header not restored: %v %q %v", q.CreatedAt, q.ManifestDigest, q.AllowReplace)
	}
	// What apply needs is restored as model values.
	rot := q.Action("api_key.search-prod.books-writer")
	orig := p.Action("api_key.search-prod.books-writer")
	if rot.Observed.KeyID != "key-writer-1" || rot.Key == nil || !reflect.DeepEqual(rot.Key.RoleDescriptors, orig.Key.RoleDescriptors) {
		t.Errorf("key action not restored: %+v %+v", rot.Observed, rot.Key)
	}
	del := q.Action("project.legacy-app")
	if del.Observed.ProjectID != "e5f60718293a4b5c6d7e8f90a1b2c3d4" || del.Observed.ETag != `"etag-e5f6"` || del.Observed.ProjectType != "elasticsearch" {
		t.Errorf("delete not restored: %+v", del.Observed)
	}
	upd := q.Action("project.search-prod")
	if upd.Project == nil || upd.Project.Tags["env"] != "prod" || !upd.Project.Protect || *upd.Project.SearchLake.SearchPower != 100 {
		t.Errorf("desired project not restored: %+v", upd.Project)
	}
}

func TestSaveOverwritesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, richPlan(t)); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("overwritten plan mode %o, want 600", fi.Mode().Perm())
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

func TestSaveToMissingDirectory(t *testing.T) {
	err := Save(filepath.Join(t.TempDir(), "no", "such", "plan.json"), richPlan(t))
	if err == nil || !strings.Contains(err.Error(), "save plan") {
		t.Fatalf("want a save error, got %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	var saved bytes.Buffer
	if err := WriteSaved(&saved, richPlan(t)); err != nil {
		t.Fatal(err)
	}
	var rendered bytes.Buffer
	if err := RenderJSON(&rendered, richPlan(t)); err != nil {
		t.Fatal(err)
	}
	damaged := strings.Replace(saved.String(), `"key_id": "key-writer-1",`, ``, 1)
	if damaged == saved.String() {
		t.Fatal("fixture changed: no key_id to remove")
	}
	tests := []struct {
		name, content, want string
	}{
		{"wrong format_version", strings.Replace(saved.String(), `"format_version": "1"`, `"format_version": "2"`, 1), `format_version is "2" but this slsync reads format_version "1"`},
		{"not JSON", "plan: yes\n", "not a slsync plan"},
		{"no format_version", `{"owner":"x"}`, "no format_version"},
		{"output of --format json", rendered.String(), "slsync plan --out FILE"},
		{"action without what apply needs", damaged, "needs observed.key_id"},
		{"unknown action", strings.Replace(saved.String(), `"action": "delete"`, `"action": "explode"`, 1), `unknown action "explode"`},
		{"wrong type", strings.Replace(saved.String(), `"actions": [`, `"actions": 7, "x": [`, 1), "damaged plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load accepted it")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q should contain %q and the path", err, tt.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

// A plan is built from model values, which carry no secrets; make sure no
// field of any JSON form is named like a secret-bearing API field, and that
// no rendering contains secret-looking values of the fixture.
func TestNoSecretFields(t *testing.T) {
	p := richPlan(t)
	forbidden := map[string]bool{"password": true, "encoded": true, "api_key": true, "credentials": true, "secret": true}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch t2 := v.(type) {
		case map[string]any:
			for k, x := range t2 {
				if forbidden[strings.ToLower(k)] {
					t.Errorf("field %q at %s", k, path)
				}
				walk(path+"."+k, x)
			}
		case []any:
			for _, x := range t2 {
				walk(path+"[]", x)
			}
		}
	}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"json":  func(b *bytes.Buffer) error { return RenderJSON(b, p) },
		"saved": func(b *bytes.Buffer) error { return WriteSaved(b, p) },
	} {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		walk(name, v)
	}
}

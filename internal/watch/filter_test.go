package watch

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestIsManifestName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"project.yaml", true},
		{"project.yml", true},
		{"PROJECT.YAML", true},
		{"project.yaml~", false}, // vim/emacs backup
		{"project.yamz~", false}, // vim backup when project.yaml~ exists
		{".project.yaml.swp", false},
		{".project.yaml", false},  // hidden
		{".#project.yaml", false}, // emacs lock
		{"#project.yaml#", false}, // emacs autosave
		{"4913", false},           // vim probe
		{"sedX1y2Z3", false},      // sed -i temp
		{"project.yaml.tmp", false},
		{"project.json", false},
		{"yaml", false},
		{"", false},
	} {
		if got := isManifestName(tc.name); got != tc.want {
			t.Errorf("isManifestName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRelTo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base, path, rel string
		inside          bool
	}{
		{"/m", "/m/a.yaml", "a.yaml", true},
		{"/m", "/m", ".", true},
		{"/m", "/m/s/a.yaml", "s/a.yaml", true},
		{"/m", "/mx/a.yaml", "", false},
		{"/m", "/a.yaml", "", false},
		{".", "a.yaml", "a.yaml", true},
		{".", "..x/a.yaml", "..x/a.yaml", true},
	} {
		rel, inside := relTo(tc.base, tc.path)
		if rel != tc.rel || inside != tc.inside {
			t.Errorf("relTo(%q, %q) = %q, %v; want %q, %v", tc.base, tc.path, rel, inside, tc.rel, tc.inside)
		}
	}
}

// TestRelativeRoot: a relative root yields relative paths of the same form
// as the manifest loader's (no "./" prefix). Not parallel: it changes the
// working directory.
func TestRelativeRoot(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, filepath.Join("m", "a.yaml"), "owner: x\n")
	for _, root := range []string{".", "./m", "m/a.yaml"} {
		ctx, cancel := context.WithCancel(context.Background())
		calls := make(chan Change, 10)
		done := make(chan error, 1)
		go func() { done <- Run(ctx, root, Options{Debounce: testDebounce}, record(calls)) }()
		want := filepath.Join("m", "a.yaml")
		for _, step := range []string{"initial", "write"} {
			if step == "write" {
				writeFile(t, want, "owner: y\n")
			}
			select {
			case ch := <-calls:
				if !slices.Equal(ch.Paths, []string{want}) {
					t.Errorf("root %q, %s: paths %q, want [%s]", root, step, ch.Paths, want)
				}
			case <-time.After(waitLong):
				t.Fatalf("root %q: no %s call", root, step)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

package safefile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name     string
		existing string // content already at the path ("" for none)
		oldPerm  os.FileMode
		perm     os.FileMode
	}{
		{name: "new file", perm: 0o600},
		{name: "replaces a file and narrows its mode", existing: "old content, longer than the new", oldPerm: 0o644, perm: 0o600},
		{name: "widens when asked", existing: "old", oldPerm: 0o600, perm: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), tt.oldPerm); err != nil {
					t.Fatal(err)
				}
			}
			if err := Write(path, []byte("new"), tt.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != "new" {
				t.Fatalf("file holds %q (%v), want %q", got, err, "new")
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && fi.Mode().Perm() != tt.perm {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tt.perm)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("directory holds %d entries, want just the file: %v", len(entries), entries)
			}
		})
	}
}

func TestWriteRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := Write("plain.txt", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile("plain.txt"); err != nil || string(got) != "x" {
		t.Fatalf("file holds %q (%v)", got, err)
	}
}

// A failed write leaves the target as it was and no temporary file, and
// does not create a missing directory.
func TestWriteFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	// A non-empty directory where the file should go makes the final
	// rename fail after the data has been written to the temporary file.
	blocker := filepath.Join(dir, "state.json")
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := Write(blocker, []byte("data"), 0o600)
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Fatalf("Write over a directory: err = %v, want one naming the path", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "state.json" || !entries[0].IsDir() {
		t.Errorf("a failed write left files behind: %v", entries)
	}

	missing := filepath.Join(dir, "no-such-dir", "state.json")
	if err := Write(missing, []byte("data"), 0o600); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
	if _, err := os.Stat(filepath.Dir(missing)); err == nil {
		t.Error("Write created the missing directory")
	}
}

// TestWriteReplaceIsAtomic reads the file continuously while it is being
// replaced: every read must see one whole document, old or new. A plain
// truncate-and-write shows empty or partial files here.
func TestWriteReplaceIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.json")
	doc := func(i int) []byte {
		// Vary the size so that a torn write would show.
		b, _ := json.Marshal(map[string]string{"project_key": "search-prod", "id": strings.Repeat("x", 1+(i%7)*300)})
		return b
	}
	if err := Write(path, doc(0), 0o600); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var torn []string
	var reads int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(path)
			if err != nil {
				torn = append(torn, "read error: "+err.Error())
				continue
			}
			reads++
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil || got["project_key"] != "search-prod" {
				torn = append(torn, fmt.Sprintf("%d bytes", len(b)))
			}
		}
	}()
	for i := range 300 {
		if err := Write(path, doc(i), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if len(torn) > 0 {
		t.Errorf("%d of %d reads saw a torn file, e.g. %s", len(torn), reads+len(torn), torn[0])
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, doc(299)) {
		t.Errorf("file holds %d bytes, want the last document", len(got))
	}
}

package cloud

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/safefile"
)

func TestDefaultCredentialsPath(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"env override", map[string]string{CredentialsEnv: "/x/c.json", "HOME": "/h"}, "/x/c.json"},
		{"xdg", map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/h"}, "/xdg/slsync/credentials.json"},
		{"home", map[string]string{"HOME": "/h"}, "/h/.config/slsync/credentials.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DefaultCredentialsPath(func(k string) string { return tt.env[k] })
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := DefaultCredentialsPath(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), CredentialsEnv) {
		t.Fatalf("no HOME: err = %v, want a hint about %s", err, CredentialsEnv)
	}
}

func TestCredentialsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", "slsync", "credentials.json")
	c, err := LoadCredentials(path)
	if err != nil || c.Len() != 0 {
		t.Fatalf("missing file: %v, %d entries", err, c.Len())
	}
	e := CredentialEntry{ProjectID: "abc", Key: "search-prod", Owner: "team", Username: "admin", Password: "s3cret-PW", Endpoint: "https://x"}
	if err := c.Put(e); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(CredentialEntry{ProjectID: "def", Username: "admin"}); err == nil {
		t.Fatal("Put accepted an entry without password")
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v; want 0600", fi.Mode(), err)
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, want 0700", di.Mode())
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"version": 1`) || !strings.Contains(string(data), `"password": "s3cret-PW"`) {
		t.Fatalf("file content:\n%s", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("leftover temp files: %v", entries)
	}
	back, err := LoadCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := back.Lookup("abc")
	if !ok || got != e {
		t.Fatalf("Lookup = %+v, %v; want %+v", got, ok, e)
	}
	if by := back.ByProjectKey("team", "search-prod"); len(by) != 1 || by[0].ProjectID != "abc" {
		t.Fatalf("ByProjectKey = %+v", by)
	}
	if by := back.ByProjectKey("other", "search-prod"); len(by) != 0 {
		t.Fatalf("ByProjectKey(other) = %+v", by)
	}
	if s := fmt.Sprintf("%v %+v", got, got); strings.Contains(s, "s3cret-PW") {
		t.Fatalf("formatting an entry leaks the password: %s", s)
	}
}

func TestLoadCredentialsRejectsBadFiles(t *testing.T) {
	const pw = "TOPSECRET-pw"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"group readable", `{"version":1,"projects":{}}`, 0o640, "chmod 600"},
		{"world readable", `{"version":1,"projects":{}}`, 0o604, "mode 0604"},
		{"invalid json", "{\"version\":1,\n\"projects\":{\"a\":{\"password\":\"" + pw + "\" \"x\"}}}", 0o600, ":2:"},
		{"wrong type", `{"version":1,"projects":{"a":{"username":"admin","password":42}}}`, 0o600, "must be a string"},
		{"unknown version", `{"version":2,"projects":{}}`, 0o600, "version 2 is not supported"},
		{"unknown field", `{"version":1,"projects":{"a":{"username":"u","password":"` + pw + `","pass":"x"}}}`, 0o600, `unknown field "pass"`},
		{"missing password", `{"version":1,"projects":{"a":{"username":"u"}}}`, 0o600, "username and password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "credentials.json")
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadCredentials(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want it to name %s and say %q", err, path, tt.want)
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

// TestUpdateCredentialsConcurrent runs many read-modify-write updates at once;
// without the lock, most entries would be lost.
func TestUpdateCredentialsConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- UpdateCredentials(context.Background(), path, func(c *Credentials) error {
				return c.Put(CredentialEntry{ProjectID: fmt.Sprintf("p%02d", i), Username: "admin", Password: model.Secret(fmt.Sprintf("pw%d", i))})
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := LoadCredentials(path)
	if err != nil || c.Len() != n {
		t.Fatalf("entries = %d (%v), want %d", c.Len(), err, n)
	}
	// An fn error leaves the file as it was.
	err = UpdateCredentials(context.Background(), path, func(c *Credentials) error {
		c.Remove("p00")
		return fmt.Errorf("changed my mind")
	})
	if err == nil {
		t.Fatal("want fn's error")
	}
	if c, _ := LoadCredentials(path); c.Len() != n {
		t.Fatalf("a failed update changed the file: %d entries", c.Len())
	}
}

func TestUpdateCredentialsWaitsForLockUntilContextEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	unlock, err := safefile.Lock(context.Background(), path+".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = UpdateCredentials(ctx, path, func(*Credentials) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "another slsync") {
		t.Fatalf("err = %v", err)
	}
}

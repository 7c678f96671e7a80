package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/safefile"
)

// CredentialsVersion is the credentials file format version.
const CredentialsVersion = 1

// CredentialsEnv names the environment variable that overrides the default
// credentials file location.
const CredentialsEnv = "SLSYNC_CREDENTIALS_FILE"

// CredentialEntry is one project's admin credentials as slsync keeps them.
type CredentialEntry struct {
	ProjectID string // the map key in the file
	Key       string // project key (slsync-key tag) when written
	Owner     string // owner (slsync-owner tag) when written
	Username  string
	Password  model.Secret
	Endpoint  string // the project's Elasticsearch endpoint when written
}

// fileEntry is the on-disk form; it holds the password as a plain string,
// which is why it never leaves this file.
type fileEntry struct {
	Key      string `json:"key"`
	Owner    string `json:"owner"`
	Username string `json:"username"`
	Password string `json:"password"`
	Endpoint string `json:"endpoint"`
}

type fileFormat struct {
	Version  int                  `json:"version"`
	Projects map[string]fileEntry `json:"projects"`
}

// Credentials is the content of a credentials file: project id → admin
// credentials. Methods are not safe for concurrent use; to change the file
// while other slsync processes may do the same, use UpdateCredentials.
type Credentials struct {
	path    string
	entries map[string]CredentialEntry
}

// DefaultCredentialsPath returns where the credentials file lives: the
// SLSYNC_CREDENTIALS_FILE environment variable if set, else
// <user config dir>/slsync/credentials.json (on Linux
// $XDG_CONFIG_HOME/slsync/credentials.json or ~/.config/slsync/…). It is
// deliberately outside any working tree, so that it is never committed.
func DefaultCredentialsPath(getenv func(string) string) (string, error) {
	if p := strings.TrimSpace(getenv(CredentialsEnv)); p != "" {
		return p, nil
	}
	dir, err := userConfigDir(getenv)
	if err != nil {
		return "", fmt.Errorf("cannot find a place for the credentials file (%v): set %s or --credentials-file", err, CredentialsEnv)
	}
	return filepath.Join(dir, "slsync", "credentials.json"), nil
}

// userConfigDir is os.UserConfigDir with the environment read through
// getenv, so that tests need not touch the process environment.
func userConfigDir(getenv func(string) string) (string, error) {
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
		return os.UserConfigDir()
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		if !filepath.IsAbs(d) {
			return "", errors.New("XDG_CONFIG_HOME is not an absolute path")
		}
		return d, nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config"), nil
	}
	return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set")
}

// NewCredentials returns an empty set of credentials bound to path.
func NewCredentials(path string) *Credentials {
	return &Credentials{path: path, entries: map[string]CredentialEntry{}}
}

// LoadCredentials reads the file at path. A missing file is an empty set. A
// file that others may read is refused: it holds passwords.
func LoadCredentials(path string) (*Credentials, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return NewCredentials(path), nil
	}
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("credentials file %s is a directory; point %s or --credentials-file at a file", path, CredentialsEnv)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("credentials file %s has mode %04o, so other users may read the project passwords in it; run `chmod 600 %s` and try again",
			path, fi.Mode().Perm(), path)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	return parseCredentials(path, buf.Bytes())
}

func parseCredentials(path string, data []byte) (*Credentials, error) {
	c := NewCredentials(path)
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var ff fileFormat
	if err := dec.Decode(&ff); err != nil {
		// Never quote the content: it holds passwords.
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := lineCol(data, se.Offset)
			return nil, fmt.Errorf("credentials file %s:%d:%d: invalid JSON; fix or remove the file", path, line, col)
		case errors.As(err, &te):
			line, col := lineCol(data, te.Offset)
			return nil, fmt.Errorf("credentials file %s:%d:%d: field %q must be a %s", path, line, col, te.Field, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return nil, fmt.Errorf("credentials file %s: %s; the format is {\"version\":1,\"projects\":{\"<project id>\":{\"key\",\"owner\",\"username\",\"password\",\"endpoint\"}}}",
				path, strings.TrimPrefix(err.Error(), "json: "))
		default:
			return nil, fmt.Errorf("credentials file %s: unreadable (%T); fix or remove the file", path, err)
		}
	}
	if ff.Version != CredentialsVersion {
		return nil, fmt.Errorf("credentials file %s: version %d is not supported (this slsync reads version %d)", path, ff.Version, CredentialsVersion)
	}
	for id, e := range ff.Projects {
		if id == "" || e.Username == "" || e.Password == "" {
			return nil, fmt.Errorf("credentials file %s: project %q needs a non-empty id, username and password", path, id)
		}
		c.entries[id] = CredentialEntry{ProjectID: id, Key: e.Key, Owner: e.Owner, Username: e.Username,
			Password: model.Secret(e.Password), Endpoint: e.Endpoint}
	}
	return c, nil
}

func lineCol(data []byte, offset int64) (int, int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col := 1, 1
	for _, b := range data[:offset] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// Path returns the file the credentials belong to.
func (c *Credentials) Path() string { return c.path }

// Len returns the number of entries.
func (c *Credentials) Len() int { return len(c.entries) }

// Lookup returns the credentials of a project by id.
func (c *Credentials) Lookup(projectID string) (CredentialEntry, bool) {
	if c == nil {
		return CredentialEntry{}, false
	}
	e, ok := c.entries[projectID]
	return e, ok
}

// ByProjectKey returns the entries recorded for an owner's project key,
// sorted by project id. Usually one; more after a replace whose old entry was
// not yet removed.
func (c *Credentials) ByProjectKey(owner, key string) []CredentialEntry {
	if c == nil {
		return nil
	}
	var out []CredentialEntry
	for _, e := range c.entries {
		if e.Owner == owner && e.Key == key {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProjectID < out[j].ProjectID })
	return out
}

// ProjectIDs returns the ids that have entries, sorted.
func (c *Credentials) ProjectIDs() []string { return model.SortedKeys(c.entries) }

// Put adds or replaces a project's entry.
func (c *Credentials) Put(e CredentialEntry) error {
	if e.ProjectID == "" || e.Username == "" || e.Password.Reveal() == "" {
		return errors.New("credentials entry needs a project id, username and password")
	}
	c.entries[e.ProjectID] = e
	return nil
}

// Remove drops a project's entry; it reports whether there was one.
func (c *Credentials) Remove(projectID string) bool {
	_, ok := c.entries[projectID]
	delete(c.entries, projectID)
	return ok
}

// Save writes the credentials to their file atomically (temporary file in
// the same directory, fsync, rename), mode 0600, creating the directory
// (0700) if needed. It overwrites what another process may have written
// since LoadCredentials; UpdateCredentials avoids that.
func (c *Credentials) Save() error {
	ff := fileFormat{Version: CredentialsVersion, Projects: make(map[string]fileEntry, len(c.entries))}
	for id, e := range c.entries {
		ff.Projects[id] = fileEntry{Key: e.Key, Owner: e.Owner, Username: e.Username,
			Password: e.Password.Reveal(), Endpoint: e.Endpoint}
	}
	data, err := json.MarshalIndent(ff, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	if err := safefile.Write(c.path, data, 0o600); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	return nil
}

// UpdateCredentials changes the file at path under an exclusive lock
// (path + ".lock"), so that concurrent slsync runs — or apply's parallel
// workers — never lose each other's entries: it waits for the lock (until ctx
// ends), reads the current file, calls fn, and saves if fn returns nil.
func UpdateCredentials(ctx context.Context, path string, fn func(*Credentials) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	lock := path + ".lock"
	unlock, err := safefile.Lock(ctx, lock)
	if errors.Is(err, safefile.ErrLocked) {
		return fmt.Errorf("waiting for the credentials lock %s (another slsync is writing it): %w", lock, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("credentials %w", err) // "credentials lock …"
	}
	defer unlock()
	c, err := LoadCredentials(path)
	if err != nil {
		return err
	}
	if err := fn(c); err != nil {
		return err
	}
	return c.Save()
}

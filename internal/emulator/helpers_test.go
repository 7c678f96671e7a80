package emulator_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

// fakeClock is a controllable clock for phases and key expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// cloudErrors decodes a MultiErrorResponse and checks it is one.
func cloudErrors(t *testing.T, r emulatortest.Response) []struct{ Code, Message string } {
	t.Helper()
	var body struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("want a MultiErrorResponse, got %d %s", r.Status, r.Body)
	}
	for _, e := range body.Errors {
		if e.Code == "" || e.Message == "" {
			t.Fatalf("error entry without code or message: %s", r.Body)
		}
	}
	return body.Errors
}

// wantCloudError checks status and that some message contains each want.
func wantCloudError(t *testing.T, r emulatortest.Response, status int, wants ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want status %d, got %d %s", status, r.Status, r.Body)
	}
	errs := cloudErrors(t, r)
	all := ""
	for _, e := range errs {
		all += e.Message + "\n"
	}
	for _, w := range wants {
		if !strings.Contains(all, w) {
			t.Fatalf("want an error message containing %q, got:\n%s", w, all)
		}
	}
}

// esError is the Elasticsearch error envelope.
type esError struct {
	Error struct {
		RootCause []map[string]any `json:"root_cause"`
		Type      string           `json:"type"`
		Reason    string           `json:"reason"`
		CausedBy  map[string]any   `json:"caused_by"`
		Extra     map[string]any   `json:"-"`
	} `json:"error"`
	Status int `json:"status"`
}

// wantESError checks an Elasticsearch error envelope.
func wantESError(t *testing.T, r emulatortest.Response, status int, typ, reasonPart string) esError {
	t.Helper()
	var e esError
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("want an ES error envelope, got %d %s", r.Status, r.Body)
	}
	if r.Status != status || e.Status != status || e.Error.Type != typ || !strings.Contains(e.Error.Reason, reasonPart) {
		t.Fatalf("want %d %s containing %q, got %d %s", status, typ, reasonPart, r.Status, r.Body)
	}
	if len(e.Error.RootCause) != 1 || e.Error.RootCause[0]["type"] == nil {
		t.Fatalf("root_cause missing: %s", r.Body)
	}
	if r.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("ES response without X-Elastic-Product header")
	}
	return e
}

func decode[T any](t *testing.T, r emulatortest.Response) T {
	t.Helper()
	var v T
	r.JSON(t, &v)
	return v
}

package cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ErrorItem is one entry of the Project API's MultiErrorResponse.
type ErrorItem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// APIError is an error answer of the Serverless Project API.
type APIError struct {
	Status int
	Errors []ErrorItem
	Method string
	Path   string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	for i, it := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		switch {
		case it.Code != "" && it.Message != "":
			fmt.Fprintf(&b, "%s (%s)", it.Message, it.Code)
		case it.Message != "":
			b.WriteString(it.Message)
		default:
			b.WriteString(it.Code)
		}
	}
	switch e.Status {
	case http.StatusUnauthorized:
		b.WriteString(" — check the Elastic Cloud API key (EC_API_KEY) and that the endpoint (EC_ENDPOINT) is the one it belongs to")
	case http.StatusForbidden:
		b.WriteString(" — the Elastic Cloud API key lacks the role needed for this; give it a project admin role for the organisation")
	}
	return b.String()
}

// ESError is an error answer of a project's Elasticsearch.
type ESError struct {
	Status int
	// Type and Reason come from the Elasticsearch error envelope
	// ({"error":{"type","reason",...},"status"}); for a body that is not an
	// envelope (a proxy's page), Type is empty and Reason holds its start.
	Type   string
	Reason string
	Method string
	Path   string
}

func (e *ESError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Type != "" {
		fmt.Fprintf(&b, ": %s", e.Type)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	if e.Status == http.StatusUnauthorized {
		b.WriteString(" — the project's admin credentials were rejected; store working ones with `slsync credentials set` or let apply reset them with --allow-credential-reset")
	}
	return b.String()
}

// OutcomeUnknownError reports a write that may or may not have been applied:
// the request reached the server but no trustworthy answer came back (a 5xx,
// a reset connection, a timeout). Repeating it blindly could, for a create,
// make a duplicate; the caller must re-read live state (by tags / metadata)
// to find out what happened.
type OutcomeUnknownError struct {
	Method string
	Path   string
	Err    error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%s %s: outcome unknown, the change may or may not have been applied (re-read live state before retrying): %v",
		e.Method, e.Path, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// TransportError is a failure without any HTTP answer (connection refused,
// reset, timeout) after all retries.
type TransportError struct {
	Method   string
	Path     string
	Attempts int
	Err      error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("%s %s: %v (after %d attempts)", e.Method, e.Path, e.Err, e.Attempts)
}

func (e *TransportError) Unwrap() error { return e.Err }

// IsOutcomeUnknown reports whether err says a write may or may not have
// happened.
func IsOutcomeUnknown(err error) bool {
	var o *OutcomeUnknownError
	return errors.As(err, &o)
}

// StatusOf returns the HTTP status of an API or Elasticsearch error, or 0.
// An outcome-unknown error has no meaningful status and returns 0.
func StatusOf(err error) int {
	if IsOutcomeUnknown(err) {
		return 0
	}
	var a *APIError
	if errors.As(err, &a) {
		return a.Status
	}
	var e *ESError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports a 404 answer.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsConflict reports a 409 answer.
func IsConflict(err error) bool { return StatusOf(err) == http.StatusConflict }

// IsPreconditionFailed reports a 412 answer: the If-Match ETag is stale
// because the project changed since it was read.
func IsPreconditionFailed(err error) bool {
	return StatusOf(err) == http.StatusPreconditionFailed
}

// IsUnauthorized reports a 401 answer.
func IsUnauthorized(err error) bool { return StatusOf(err) == http.StatusUnauthorized }

// decodeAPIError builds an *APIError from a Project API error body.
func (t *transport) decodeAPIError(c *call, status int, body []byte) error {
	e := &APIError{Status: status, Method: c.method, Path: c.path}
	var env struct {
		Errors []ErrorItem `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil && len(env.Errors) > 0 {
		for _, it := range env.Errors {
			e.Errors = append(e.Errors, ErrorItem{Code: t.scrub(it.Code), Message: t.scrub(it.Message)})
		}
	} else if s := snippet(body); s != "" {
		e.Errors = []ErrorItem{{Message: t.scrub(s)}}
	}
	return e
}

// decodeESError builds an *ESError from an Elasticsearch error body.
func (t *transport) decodeESError(c *call, status int, body []byte) error {
	e := &ESError{Status: status, Method: c.method, Path: c.path}
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && len(env.Error) > 0 {
		var cause struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(env.Error, &cause) == nil {
			e.Type, e.Reason = t.scrub(cause.Type), t.scrub(cause.Reason)
		} else {
			var s string // old-style {"error": "text"}
			if json.Unmarshal(env.Error, &s) == nil {
				e.Reason = t.scrub(s)
			}
		}
		return e
	}
	e.Reason = t.scrub(snippet(body))
	return e
}

// snippet returns the first line-ish of a non-JSON body, bounded.
func snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	const max = 200
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

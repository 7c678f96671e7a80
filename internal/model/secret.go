package model

import "log/slog"

// Secret holds a value that must never reach output, logs, plans or errors:
// a project password, an API key value, the Cloud API key. Every formatting
// path (fmt verbs, JSON, slog) prints a placeholder; Reveal is the only way to
// the value, so that each use of it is visible in review.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

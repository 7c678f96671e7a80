// Package apply executes a plan: it runs the plan's actions as a dependency
// graph with bounded parallelism (graph.go), waits for projects to become
// ready (wait.go), delivers the secrets of created API keys to the
// configured sinks (sink*.go) and reports progress (progress.go).
//
// Elasticsearch shows a key's secret exactly once, in the create response,
// so a secret that is not delivered is lost. The executor therefore delivers
// a key's secret before it lets anything that depends on it proceed — in
// particular before it invalidates the key a rotation replaces.
package apply

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/slsync/slsync/internal/model"
)

// KeySecret is a created API key together with its secret, as delivered to a
// Sink. Formatting it with fmt, encoding/json or log/slog shows the secret as
// "[redacted]"; MarshalSecretJSON is the one way to the delivered document.
type KeySecret struct {
	// ProjectKey is the manifest's project key ("search-prod").
	ProjectKey string
	// ProjectID is the Serverless project id.
	ProjectID string
	// KeyName is the manifest key name (the api_keys map key); it names the
	// delivered file and is stable across rotations.
	KeyName string
	// Name is the Elasticsearch API key name (KeyName unless the manifest
	// sets `name:`).
	Name string
	// ID is the Elasticsearch API key id.
	ID string
	// Encoded is base64("<id>:<api_key>"), the value of an
	// `Authorization: ApiKey …` header.
	Encoded model.Secret
	// Endpoint is the project's Elasticsearch URL.
	Endpoint string
	// ExpiresAt is when the key expires; nil if it never does.
	ExpiresAt *time.Time
}

// secretDoc is the delivered JSON document. Field order is the documented
// one (README.md, "Where secrets go").
type secretDoc struct {
	ProjectKey string `json:"project_key"`
	ProjectID  string `json:"project_id"`
	Name       string `json:"name"`
	ID         string `json:"id"`
	Encoded    string `json:"encoded"`
	Endpoint   string `json:"endpoint"`
	Expiration string `json:"expiration,omitempty"`
}

// MarshalSecretJSON returns the document a sink delivers, secret included:
//
//	{"project_key":…,"project_id":…,"name":…,"id":…,"encoded":…,"endpoint":…,"expiration":"2026-01-02T15:04:05Z"}
//
// expiration is RFC 3339 in UTC and omitted for a key that never expires.
// Call it only to hand the secret to its destination.
func (k KeySecret) MarshalSecretJSON() []byte {
	doc := secretDoc{
		ProjectKey: k.ProjectKey,
		ProjectID:  k.ProjectID,
		Name:       k.Name,
		ID:         k.ID,
		Encoded:    k.Encoded.Reveal(),
		Endpoint:   k.Endpoint,
	}
	if k.ExpiresAt != nil {
		doc.Expiration = k.ExpiresAt.UTC().Format(time.RFC3339)
	}
	// A struct of strings always marshals.
	b, _ := json.Marshal(doc)
	return append(b, '\n')
}

// String identifies the key without its secret.
func (k KeySecret) String() string {
	return fmt.Sprintf("key %s.%s (id %s)", k.ProjectKey, k.KeyName, k.ID)
}

// LogValue keeps structured logs of a KeySecret to its identity.
func (k KeySecret) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("project_key", k.ProjectKey),
		slog.String("key_name", k.KeyName),
		slog.String("id", k.ID),
		slog.Any("encoded", k.Encoded),
	)
}

// redactIn removes the secret, and the raw api_key inside it, from text that
// came from a sink's destination (a command's stderr may echo its input).
func (k KeySecret) redactIn(s string) string {
	enc := k.Encoded.Reveal()
	if enc == "" {
		return s
	}
	s = strings.ReplaceAll(s, enc, "[redacted]")
	if _, raw, ok := strings.Cut(decodeBase64(enc), ":"); ok && len(raw) >= 8 {
		s = strings.ReplaceAll(s, raw, "[redacted]")
	}
	return s
}

// Sink is a destination for API key secrets.
type Sink interface {
	// Deliver stores the secret, or returns an error that does not contain
	// it. A nil error means the secret is safely stored.
	Deliver(ctx context.Context, s KeySecret) error
	// Name says where secrets go, for messages ("--secrets-dir ./secrets").
	Name() string
}

// DeliveryError is a failed delivery: the key exists but its secret may not
// have reached its destination. It never contains the secret.
type DeliveryError struct {
	Sink       string
	ProjectKey string
	KeyName    string
	Err        error
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("delivering the secret of key %s.%s to %s failed: %v", e.ProjectKey, e.KeyName, e.Sink, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// MultiSink delivers each secret to every one of its sinks, in order.
// Delivery succeeds only when all of them succeed. After a failure the
// remaining sinks are still tried, so that the secret lands wherever it can
// (useful for recovering by hand); the errors of all failed sinks are
// returned together.
type MultiSink struct {
	sinks []Sink
}

// NewMultiSink combines sinks. With none, every delivery fails: creating a
// key without a sink would lose its secret, which the executor refuses up
// front anyway.
func NewMultiSink(sinks ...Sink) *MultiSink {
	return &MultiSink{sinks: append([]Sink(nil), sinks...)}
}

// Len is the number of sinks.
func (m *MultiSink) Len() int { return len(m.sinks) }

func (m *MultiSink) Name() string {
	names := make([]string, len(m.sinks))
	for i, s := range m.sinks {
		names[i] = s.Name()
	}
	return strings.Join(names, " and ")
}

func (m *MultiSink) Deliver(ctx context.Context, s KeySecret) error {
	if len(m.sinks) == 0 {
		return &DeliveryError{Sink: "no sink", ProjectKey: s.ProjectKey, KeyName: s.KeyName,
			Err: errors.New("no secret sink is configured; pass --secrets-dir or --secrets-exec")}
	}
	var errs []error
	for _, sink := range m.sinks {
		if err := ctx.Err(); err != nil {
			errs = append(errs, &DeliveryError{Sink: sink.Name(), ProjectKey: s.ProjectKey, KeyName: s.KeyName, Err: err})
			break
		}
		if err := sink.Deliver(ctx, s); err != nil {
			var de *DeliveryError
			if !errors.As(err, &de) {
				err = &DeliveryError{Sink: sink.Name(), ProjectKey: s.ProjectKey, KeyName: s.KeyName, Err: err}
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func decodeBase64(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	return string(b)
}

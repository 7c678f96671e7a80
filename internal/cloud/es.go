package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/slsync/slsync/internal/model"
)

// ESClient talks to one project's Elasticsearch security API with the
// project's admin credentials (HTTP basic auth). Keys are managed with a user
// credential because an API key can neither create keys with privileges nor
// update keys (see the reference on Elasticsearch API keys). It is safe for
// concurrent use.
type ESClient struct {
	t *transport
}

// NewESClient returns a client for the Elasticsearch endpoint of a project
// (its endpoints.elasticsearch URL).
func NewESClient(endpoint, username string, password model.Secret, opts Options) (*ESClient, error) {
	if username == "" || password.Reveal() == "" {
		return nil, fmt.Errorf("no admin credentials for %s", endpoint)
	}
	t, err := newTransport(endpoint, opts)
	if err != nil {
		return nil, err
	}
	t.secrets = []string{password.Reveal()}
	t.auth = func(r *http.Request) { r.SetBasicAuth(username, password.Reveal()) }
	t.decodeError = t.decodeESError
	return &ESClient{t: t}, nil
}

// Endpoint returns the base URL the client talks to.
func (c *ESClient) Endpoint() string { return c.t.base.String() }

// APIKey is a key as the get/query APIs return it.
type APIKey struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	Type            string         `json:"type,omitempty"`
	Creation        int64          `json:"creation"`             // epoch ms
	Expiration      *int64         `json:"expiration,omitempty"` // epoch ms; nil: never
	Invalidated     bool           `json:"invalidated"`
	Invalidation    *int64         `json:"invalidation,omitempty"`
	Username        string         `json:"username"`
	Realm           string         `json:"realm,omitempty"`
	Metadata        map[string]any `json:"metadata"`
	RoleDescriptors map[string]any `json:"role_descriptors"`
	// Sort holds the query API's _sort values verbatim, for search_after.
	Sort []json.RawMessage `json:"_sort,omitempty"`
}

// CreateAPIKeyRequest is the create body. A nil map is left out (role
// descriptors: the key inherits its owner's privileges); an empty map is
// sent as {}.
type CreateAPIKeyRequest struct {
	Name            string         `json:"name"`
	Expiration      string         `json:"expiration,omitempty"`
	RoleDescriptors map[string]any `json:"role_descriptors,omitzero"`
	Metadata        map[string]any `json:"metadata,omitzero"`
}

// CreatedAPIKey is the answer to a create: the only time the key's secret is
// shown.
type CreatedAPIKey struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Expiration *int64       `json:"expiration,omitempty"`
	APIKey     model.Secret `json:"api_key"`
	Encoded    model.Secret `json:"encoded"`
}

// UpdateAPIKeyRequest changes a key in place. Nil maps and an empty
// Expiration leave those fields as they are; metadata replaces the whole
// metadata; expiration restarts the clock (now + duration).
type UpdateAPIKeyRequest struct {
	RoleDescriptors map[string]any `json:"role_descriptors,omitzero"`
	Metadata        map[string]any `json:"metadata,omitzero"`
	Expiration      string         `json:"expiration,omitempty"`
}

// QueryAPIKeysRequest selects keys. Size and Sort default to 1000 and
// creation, name, so that paging with search_after works.
type QueryAPIKeysRequest struct {
	Query any   `json:"query,omitempty"`
	Sort  []any `json:"sort,omitempty"`
	Size  int   `json:"size,omitempty"`
}

// InvalidateResult is the answer to InvalidateAPIKeys.
type InvalidateResult struct {
	Invalidated           []string `json:"invalidated_api_keys"`
	PreviouslyInvalidated []string `json:"previously_invalidated_api_keys"`
	ErrorCount            int      `json:"error_count"`
	ErrorDetails          []struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error_details,omitempty"`
}

// AuthInfo is who the credentials authenticate as.
type AuthInfo struct {
	Username           string   `json:"username"`
	Roles              []string `json:"roles"`
	AuthenticationType string   `json:"authentication_type"`
}

const apiKeyPath = "/_security/api_key"

// CreateAPIKey creates a key owned by the admin user. It is never repeated
// after an ambiguous failure (IsOutcomeUnknown): query by metadata first.
func (c *ESClient) CreateAPIKey(ctx context.Context, req *CreateAPIKeyRequest) (*CreatedAPIKey, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	res, err := c.t.do(ctx, &call{method: http.MethodPost, path: apiKeyPath, body: body, mode: retryNever})
	if err != nil {
		return nil, err
	}
	var k CreatedAPIKey
	if err := decode(res, &k); err != nil {
		return nil, &OutcomeUnknownError{Method: http.MethodPost, Path: apiKeyPath, Err: err}
	}
	return &k, nil
}

// DefaultQuerySize is the page size of QueryAPIKeys.
const DefaultQuerySize = 1000

// DefaultKeySort orders keys for paging. Elasticsearch cannot sort on id, so
// a tie on (creation, name) is possible; QueryAPIKeys re-asks for a tied
// boundary instead of skipping keys (see there).
func DefaultKeySort() []any {
	return []any{map[string]any{"creation": "asc"}, map[string]any{"name": "asc"}}
}

// QueryAPIKeys returns every key the query selects. One call when they fit
// in one page (Size); beyond that it pages with search_after on the sort
// values of the last key.
//
// Ties: Elasticsearch cannot sort on id, so keys may share the last key's
// sort values and continue on the next page, where search_after (strictly
// "after") would skip them. QueryAPIKeys therefore pages from the last key
// whose sort values differ from the last key's, re-reading the final tie
// group (usually just the last key) and dropping duplicates by id: an
// overlap of a few keys, never a missing one, and no extra call. A page made
// entirely of one tie group cannot be paged past; that returns an error
// rather than a partial answer.
func (c *ESClient) QueryAPIKeys(ctx context.Context, req *QueryAPIKeysRequest) ([]APIKey, error) {
	size := req.Size
	if size <= 0 {
		size = DefaultQuerySize
	}
	sortSpec := req.Sort
	if len(sortSpec) == 0 {
		sortSpec = DefaultKeySort()
	}
	var (
		out         []APIKey
		seen        = map[string]bool{}
		searchAfter []json.RawMessage
	)
	for {
		body := struct {
			Query       any               `json:"query,omitempty"`
			Sort        []any             `json:"sort"`
			Size        int               `json:"size"`
			SearchAfter []json.RawMessage `json:"search_after,omitempty"`
		}{req.Query, sortSpec, size, searchAfter}
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		res, err := c.t.do(ctx, &call{method: http.MethodPost, path: "/_security/_query/api_key", body: data, mode: retrySafe})
		if err != nil {
			return nil, err
		}
		var page struct {
			Total   int      `json:"total"`
			Count   int      `json:"count"`
			APIKeys []APIKey `json:"api_keys"`
		}
		if err := decode(res, &page); err != nil {
			return nil, fmt.Errorf("query API keys: %w", err)
		}
		added := 0
		for _, k := range page.APIKeys {
			if !seen[k.ID] {
				seen[k.ID] = true
				out = append(out, k)
				added++
			}
		}
		if len(page.APIKeys) < size || len(out) >= page.Total {
			return out, nil
		}
		if added == 0 {
			return nil, errors.New("query API keys: paging made no progress (more keys share one creation time and name than fit in a page)")
		}
		next, err := nextSearchAfter(page.APIKeys)
		if err != nil {
			return nil, err
		}
		searchAfter = next
	}
}

// nextSearchAfter picks the search_after values for the page after keys:
// those of the last key that does not tie with the final one (see
// QueryAPIKeys on ties).
func nextSearchAfter(keys []APIKey) ([]json.RawMessage, error) {
	last := keys[len(keys)-1]
	if len(last.Sort) == 0 {
		return nil, errors.New("query API keys: the answer has no _sort values; cannot page beyond the first page")
	}
	for i := len(keys) - 2; i >= 0; i-- {
		if !sameSort(keys[i].Sort, last.Sort) {
			return keys[i].Sort, nil
		}
	}
	return nil, errors.New("query API keys: a whole page of keys shares one creation time and name; cannot page past it")
}

func sameSort(a, b []json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			return false
		}
	}
	return true
}

// UpdateAPIKey updates a key in place; it reports whether anything changed.
// Repeating an update sets the same values again, so it is retried like a
// read.
func (c *ESClient) UpdateAPIKey(ctx context.Context, id string, req *UpdateAPIKeyRequest) (bool, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return false, err
	}
	res, err := c.t.do(ctx, &call{method: http.MethodPut, path: apiKeyPath + "/" + url.PathEscape(id), body: body, mode: retrySafe})
	if err != nil {
		return false, err
	}
	var r struct {
		Updated bool `json:"updated"`
	}
	if err := decode(res, &r); err != nil {
		return false, fmt.Errorf("update API key %s: %w", id, err)
	}
	return r.Updated, nil
}

// InvalidateAPIKeys invalidates keys by id. Invalidating again is harmless,
// so it is retried like a read.
func (c *ESClient) InvalidateAPIKeys(ctx context.Context, ids []string) (*InvalidateResult, error) {
	if len(ids) == 0 {
		return &InvalidateResult{}, nil
	}
	body, err := json.Marshal(map[string]any{"ids": ids})
	if err != nil {
		return nil, err
	}
	res, err := c.t.do(ctx, &call{method: http.MethodDelete, path: apiKeyPath, body: body, mode: retrySafe})
	if err != nil {
		return nil, err
	}
	var r InvalidateResult
	if err := decode(res, &r); err != nil {
		return nil, fmt.Errorf("invalidate API keys: %w", err)
	}
	return &r, nil
}

// Authenticate checks the credentials and returns who they belong to.
func (c *ESClient) Authenticate(ctx context.Context) (*AuthInfo, error) {
	res, err := c.t.do(ctx, &call{method: http.MethodGet, path: "/_security/_authenticate", mode: retrySafe})
	if err != nil {
		return nil, err
	}
	var a AuthInfo
	if err := decode(res, &a); err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	return &a, nil
}

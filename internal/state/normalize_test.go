package state

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/model"
)

func TestStripAliasSuffix(t *testing.T) {
	tests := []struct{ alias, id, want string }{
		{"search-prod-df6c6d", "df6c6d0123456789abcdef0123456789", "search-prod"},
		{"search-prod", "df6c6d0123456789abcdef0123456789", "search-prod"},               // no suffix
		{"search-prod-aaaaaa", "df6c6d0123456789abcdef0123456789", "search-prod-aaaaaa"}, // other suffix
		{"-df6c6d", "df6c6d0123456789abcdef0123456789", "-df6c6d"},                       // nothing left
		{"x-abc", "abc", "x-abc"}, // short id
		{"", "df6c6d0123456789abcdef0123456789", ""},
	}
	for _, tt := range tests {
		if got := StripAliasSuffix(tt.alias, tt.id); got != tt.want {
			t.Errorf("StripAliasSuffix(%q, %q) = %q, want %q", tt.alias, tt.id, got, tt.want)
		}
	}
}

func TestNormalizeProject(t *testing.T) {
	decode := func(s string) cloud.Project {
		var p cloud.Project
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sp, bw, maxd := 100, 7, 30
	tests := []struct {
		name string
		typ  model.ProjectType
		json string
		want *model.LiveProject
	}{
		{"managed elasticsearch", model.Elasticsearch, `{"id":"df6c6d0123456789abcdef0123456789","name":"Search","alias":"search-prod-df6c6d",
			"region_id":"aws-us-east-1","type":"elasticsearch","cloud_id":"x:eHl6","endpoints":{"elasticsearch":"https://es","kibana":"https://kb"},
			"metadata":{"created_at":"2025-01-01T00:00:00Z","tags":{"slsync-owner":"team","slsync-key":"search-prod","env":"prod"},"system_tags":{"_alias":"x"}},
			"optimized_for":"vector","search_lake":{"search_power":100,"boost_window":7}}`,
			&model.LiveProject{Project: model.Project{Key: "search-prod", Type: model.Elasticsearch, Name: "Search", Alias: "search-prod",
				RegionID: "aws-us-east-1", Tags: map[string]string{"env": "prod"}, OptimizedFor: "vector",
				SearchLake: &model.SearchLake{SearchPower: &sp, BoostWindow: &bw}},
				ID: "df6c6d0123456789abcdef0123456789", FullAlias: "search-prod-df6c6d", CloudID: "x:eHl6", Owner: "team",
				Endpoints: map[string]string{"elasticsearch": "https://es", "kibana": "https://kb"}}},
		{"unmanaged observability without tags", model.Observability, `{"id":"aaaaaa0123456789abcdef0123456789","name":"Obs","alias":"obs-aaaaaa",
			"region_id":"gcp-us-central1","type":"observability","metadata":{},"product_tier":"logs_essentials"}`,
			&model.LiveProject{Project: model.Project{Type: model.Observability, Name: "Obs", Alias: "obs", RegionID: "gcp-us-central1",
				Tags: map[string]string{}, ProductTier: "logs_essentials"}, ID: "aaaaaa0123456789abcdef0123456789", FullAlias: "obs-aaaaaa"}},
		{"security", model.Security, `{"id":"bbbbbb0123456789abcdef0123456789","name":"Sec","alias":"sec-bbbbbb","region_id":"azure-eastus",
			"metadata":{"tags":{"slsync-owner":"other","slsync-key":"sec"}},"admin_features_package":"enterprise",
			"product_types":[{"product_line":"security","product_tier":"essentials"}],
			"search_lake":{"data_retention":{"max_retention_days":30,"default_retention_days":null}}}`,
			&model.LiveProject{Project: model.Project{Key: "sec", Type: model.Security, Name: "Sec", Alias: "sec", RegionID: "azure-eastus",
				Tags: map[string]string{}, AdminFeaturesPackage: "enterprise",
				ProductTypes: []model.ProductType{{ProductLine: "security", ProductTier: "essentials"}},
				SearchLake:   &model.SearchLake{DataRetention: &model.DataRetention{MaxRetentionDays: &maxd}}},
				ID: "bbbbbb0123456789abcdef0123456789", FullAlias: "sec-bbbbbb", Owner: "other"}},
		// An apply created it with its keys and had not recorded their
		// delivery: the marker is state, never a user tag.
		{"keys pending", model.Elasticsearch, `{"id":"cccccc0123456789abcdef0123456789","name":"New","alias":"new-cccccc","region_id":"aws-us-east-1",
			"metadata":{"tags":{"slsync-owner":"team","slsync-key":"new","slsync-pending":"keys","team":"a"}}}`,
			&model.LiveProject{Project: model.Project{Key: "new", Type: model.Elasticsearch, Name: "New", Alias: "new", RegionID: "aws-us-east-1",
				Tags: map[string]string{"team": "a"}}, ID: "cccccc0123456789abcdef0123456789", FullAlias: "new-cccccc", Owner: "team", KeysPending: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NormalizeProject(tt.typ, decode(tt.json))
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(tt.want, "", " ")
				t.Fatalf("got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestNormalizeKey(t *testing.T) {
	exp := int64(1767225600000)
	k := cloud.APIKey{ID: "k1", Name: "books-reader", Creation: 1735689600000, Expiration: &exp, Username: "admin",
		Metadata: map[string]any{"slsync_owner": "team", "slsync_key": "books", "slsync_expiration": "30d", "slsync_future": "x",
			"team": "books", "nested": map[string]any{"a": 1.0}},
		RoleDescriptors: map[string]any{"r": map[string]any{"cluster": []any{}}}}
	got := NormalizeKey(k)
	expAt := time.UnixMilli(exp).UTC()
	want := &model.LiveAPIKey{APIKey: model.APIKey{Key: "books", Name: "books-reader", Expiration: "30d",
		RoleDescriptors: map[string]any{"r": map[string]any{"cluster": []any{}}},
		Metadata:        map[string]any{"team": "books", "nested": map[string]any{"a": 1.0}}},
		ID: "k1", Owner: "team", Username: "admin", Creation: time.UnixMilli(1735689600000).UTC(), ExpiresAt: &expAt}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if !got.Expired(expAt) || got.Expired(expAt.Add(-time.Millisecond)) {
		t.Fatal("expiry instant wrong")
	}
	if m := NormalizeKey(cloud.APIKey{ID: "k2"}).Metadata; m == nil || len(m) != 0 {
		t.Fatalf("metadata of a key without any = %#v, want empty non-nil", m)
	}
}

// The delivery marker apply writes at create (metadata slsync_pending) is
// read into Pending and kept out of the user's metadata.
func TestNormalizeKeyPending(t *testing.T) {
	tests := []struct {
		name    string
		meta    map[string]any
		pending bool
	}{
		{"no marker", map[string]any{"slsync_owner": "team", "slsync_key": "books"}, false},
		{"marker true", map[string]any{"slsync_owner": "team", "slsync_key": "books", "slsync_pending": true}, true},
		{"marker as string", map[string]any{"slsync_owner": "team", "slsync_key": "books", "slsync_pending": "true"}, true},
		{"marker false", map[string]any{"slsync_owner": "team", "slsync_key": "books", "slsync_pending": false}, false},
		{"user key of that name without the prefix", map[string]any{"pending": true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta := map[string]any{"team": "books"}
			for k, v := range tt.meta {
				meta[k] = v
			}
			got := NormalizeKey(cloud.APIKey{ID: "k1", Name: "books", Metadata: meta})
			if got.Pending != tt.pending {
				t.Fatalf("Pending = %v, want %v", got.Pending, tt.pending)
			}
			if _, leaked := got.Metadata[model.MetaPending]; leaked {
				t.Fatalf("the marker leaked into the user's metadata: %v", got.Metadata)
			}
			if got.Metadata["team"] != "books" {
				t.Fatalf("user metadata lost: %v", got.Metadata)
			}
		})
	}
}

func TestForEachBoundsParallelismAndStopsOnError(t *testing.T) {
	var cur, peak atomic.Int32
	err := ForEach(context.Background(), 40, 3, func(ctx context.Context, i int) error {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		cur.Add(-1)
		return nil
	})
	if err != nil || peak.Load() > 3 || peak.Load() < 2 {
		t.Fatalf("err=%v peak=%d, want ≤3 (and >1)", err, peak.Load())
	}
	var started atomic.Int32
	boom := errors.New("boom")
	err = ForEach(context.Background(), 100, 2, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 0 {
			return boom
		}
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, boom) || started.Load() > 3 {
		t.Fatalf("err=%v started=%d: want boom and no new work after it", err, started.Load())
	}
}

package plan

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/model"
)

// Test fixtures: desired and live values built in memory exactly as the
// manifest loader and the live-state reader produce them (live role
// descriptors as Elasticsearch returns them, numbers as float64, aliases
// without suffix, user tags without the slsync tags).

const owner = "platform-search"

var (
	// now is the instant every fixture is judged against.
	now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

func at(line int) model.Location {
	return model.Location{File: "manifests/projects.yaml", Line: line, Column: 3}
}

// js decodes JSON into plain values.
func js(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad fixture JSON %s: %v", s, err)
	}
	return m
}

// Role descriptors as written in a manifest, and the same as Elasticsearch
// returns them.
const (
	booksReadManifest = `{"books-read-only":{"indices":[{"names":"books","privileges":["read","view_index_metadata"]}]}}`
	booksReadLive     = `{"books-read-only":{"cluster":[],"indices":[{"names":["books"],"privileges":["view_index_metadata","read"],"allow_restricted_indices":false}],"applications":[],"run_as":[],"metadata":{},"transient_metadata":{"enabled":true}}}`
	booksWriteLive    = `{"writer":{"cluster":["monitor"],"indices":[{"names":["books"],"privileges":["create_doc"],"allow_restricted_indices":false}],"applications":[],"run_as":[],"metadata":{},"transient_metadata":{"enabled":true}}}`
	booksWriteWanted  = `{"writer":{"cluster":["monitor"],"indices":[{"names":["books","books-archive"],"privileges":["create_doc","index"]}]}}`
)

// liveProject is a managed live project matching d exactly.
func liveProject(d *model.Project, id string) *model.LiveProject {
	p := *d
	p.APIKeys = nil
	p.At = model.Location{}
	p.Protect = false
	p.Adopt = ""
	// Live values never share storage with the desired ones.
	p.Tags = map[string]string{}
	for k, v := range d.Tags {
		p.Tags[k] = v
	}
	p.ProductTypes = append([]model.ProductType(nil), d.ProductTypes...)
	return &model.LiveProject{
		Project:   p,
		ID:        id,
		FullAlias: p.Alias + "-" + id[:6],
		ETag:      `"etag-` + id[:4] + `"`,
		Phase:     model.PhaseInitialized,
		Owner:     owner,
		Endpoints: map[string]string{"elasticsearch": "https://" + p.Alias + "-" + id[:6] + ".es.example"},
	}
}

// liveKey is a managed live key matching k exactly (expiring in expiresIn).
func liveKey(t testing.TB, k *model.APIKey, id string, roleJSON string, created time.Time, expiresIn time.Duration) *model.LiveAPIKey {
	t.Helper()
	name := k.Name
	if name == "" {
		name = k.Key
	}
	meta := map[string]any{}
	for mk, mv := range k.Metadata {
		meta[mk] = mv
	}
	lk := &model.LiveAPIKey{
		APIKey: model.APIKey{
			Key:             k.Key,
			Name:            name,
			Expiration:      k.Expiration,
			RoleDescriptors: js(t, roleJSON),
			Metadata:        js(t, mustJSON(t, meta)), // float64 numbers, as decoded from the API
		},
		ID:       id,
		Owner:    owner,
		Username: "admin",
		Creation: created,
	}
	if expiresIn != 0 {
		e := now.Add(expiresIn)
		lk.ExpiresAt = &e
	}
	return lk
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// richFixture is a desired/live pair that exercises every action kind,
// refusals and problems; the golden files render its plan.
func richFixture(t testing.TB) (*model.Set, *model.LiveState) {
	t.Helper()
	set := &model.Set{Owner: owner, Digest: "3f2a9c0d5e", Projects: map[string]*model.Project{}}
	live := &model.LiveState{
		Owner: owner,
		Regions: map[string]model.Region{
			"aws-us-east-1":    {ID: "aws-us-east-1", ProjectCreationEnabled: true},
			"aws-eu-west-1":    {ID: "aws-eu-west-1", ProjectCreationEnabled: true},
			"aws-eu-central-2": {ID: "aws-eu-central-2", ProjectCreationEnabled: false},
		},
		KeyErrors: map[string]error{},
	}
	add := func(p *model.Project) *model.Project { set.Projects[p.Key] = p; return p }
	day := 24 * time.Hour

	// search-prod: renamed out of band, a tag removed; keys of every kind.
	prod := add(&model.Project{
		Key: "search-prod", Type: model.Elasticsearch, Name: "Search (production)", Alias: "search-prod",
		RegionID: "aws-us-east-1", OptimizedFor: "general_purpose", Protect: true,
		SearchLake: &model.SearchLake{SearchPower: ptr(100), BoostWindow: ptr(7)},
		Tags:       map[string]string{"team": "search", "env": "prod"},
		At:         at(3),
		APIKeys: map[string]*model.APIKey{
			"books-reader": {Key: "books-reader", Expiration: "30d", RoleDescriptors: js(t, booksReadManifest), Metadata: map[string]any{"team": "books", "tier": 1}},
			"books-writer": {Key: "books-writer", Expiration: "30d", RoleDescriptors: js(t, booksWriteWanted)},
			"ingest":       {Key: "ingest", Expiration: "7d", RoleDescriptors: js(t, booksReadManifest)},
			"exporter":     {Key: "exporter", Name: "exporter-v2", RoleDescriptors: js(t, booksReadManifest)},
			"renewing":     {Key: "renewing", Expiration: "30d", RotateBefore: "7d", RoleDescriptors: js(t, booksReadManifest)},
			"meta":         {Key: "meta", Expiration: "90d", Metadata: map[string]any{"team": "books", "owner": "alice"}},
			"dup":          {Key: "dup", RoleDescriptors: js(t, booksReadManifest)},
		},
	})
	lprod := liveProject(prod, "a1b2c3d4e5f60718293a4b5c6d7e8f90")
	lprod.Name = "Search (prod)"
	lprod.Tags = map[string]string{"team": "search"}
	k := prod.APIKeys
	created := now.Add(-20 * day)
	lprod.Keys = []*model.LiveAPIKey{
		liveKey(t, k["books-reader"], "key-reader-1", booksReadLive, created, 10*day),
		liveKey(t, k["books-writer"], "key-writer-1", booksWriteLive, created, 10*day),
		liveKey(t, k["ingest"], "key-ingest-1", booksReadLive, created, -1*time.Hour),
		liveKey(t, &model.APIKey{Key: "exporter", Name: "exporter"}, "key-exporter-1", booksReadLive, created, 0),
		liveKey(t, k["renewing"], "key-renewing-1", booksReadLive, created, 3*day),
		liveKey(t, &model.APIKey{Key: "meta", Expiration: "30d", Metadata: map[string]any{"team": "books"}}, "key-meta-1", `{}`, created, 10*day),
		liveKey(t, k["dup"], "key-dup-old", booksReadLive, created, 0),
		liveKey(t, k["dup"], "key-dup-new", booksReadLive, created.Add(time.Minute), 0),
		liveKey(t, &model.APIKey{Key: "legacy"}, "key-legacy-1", booksReadLive, created, 0),
	}

	// search-dev: new, with one key.
	add(&model.Project{
		Key: "search-dev", Type: model.Elasticsearch, Name: "Search (dev)", Alias: "search-dev",
		RegionID: "aws-eu-west-1", Tags: map[string]string{"env": "dev"}, At: at(40),
		APIKeys: map[string]*model.APIKey{
			"ci": {Key: "ci", Expiration: "7d", RoleDescriptors: js(t, booksReadManifest)},
		},
	})

	// obs-prod: region changed → replace (allowed in the golden run); its key
	// is created again after the replace.
	obs := add(&model.Project{
		Key: "obs-prod", Type: model.Observability, Name: "Observability", Alias: "obs-prod",
		RegionID: "aws-eu-west-1", ProductTier: "complete", At: at(60),
		APIKeys: map[string]*model.APIKey{"shipper": {Key: "shipper", RoleDescriptors: js(t, booksReadManifest)}},
	})
	lobs := liveProject(obs, "b2c3d4e5f60718293a4b5c6d7e8f90a1")
	lobs.RegionID = "aws-us-east-1"
	lobs.Keys = []*model.LiveAPIKey{liveKey(t, obs.APIKeys["shipper"], "key-shipper-1", booksReadLive, created, 0)}

	// vectors: optimized_for changed on a protected project → refused.
	vec := add(&model.Project{
		Key: "vectors", Type: model.Elasticsearch, Name: "Vectors", Alias: "vectors",
		RegionID: "aws-us-east-1", OptimizedFor: "vector", Protect: true, At: at(75),
	})
	lvec := liveProject(vec, "c3d4e5f60718293a4b5c6d7e8f90a1b2")
	lvec.OptimizedFor = "general_purpose"

	// sec-prod: product_types in another order (no change), data retention
	// changed → update.
	sec := add(&model.Project{
		Key: "sec-prod", Type: model.Security, Name: "SIEM", Alias: "sec-prod", RegionID: "aws-us-east-1",
		ProductTypes: []model.ProductType{{ProductLine: "security", ProductTier: "complete"}, {ProductLine: "endpoint", ProductTier: "essentials"}},
		SearchLake:   &model.SearchLake{DataRetention: &model.DataRetention{MaxRetentionDays: ptr(400)}},
		At:           at(90),
	})
	lsec := liveProject(sec, "d4e5f60718293a4b5c6d7e8f90a1b2c3")
	lsec.ProductTypes = []model.ProductType{{ProductLine: "endpoint", ProductTier: "essentials"}, {ProductLine: "security", ProductTier: "complete"}}
	lsec.SearchLake = &model.SearchLake{DataRetention: &model.DataRetention{MaxRetentionDays: ptr(365), DefaultRetentionDays: ptr(30)}}

	// legacy-app: managed, gone from the manifests → delete (no key actions).
	legacy := liveProject(&model.Project{Key: "legacy-app", Type: model.Elasticsearch, Name: "Legacy", Alias: "legacy", RegionID: "aws-us-east-1"}, "e5f60718293a4b5c6d7e8f90a1b2c3d4")
	legacy.Keys = []*model.LiveAPIKey{liveKey(t, &model.APIKey{Key: "old"}, "key-old-1", booksReadLive, created, 0)}

	// web: adopt: true, matched by alias among unmanaged projects; renamed.
	add(&model.Project{
		Key: "web", Type: model.Elasticsearch, Name: "Website search", Alias: "web", RegionID: "aws-us-east-1",
		Adopt: "true", Tags: map[string]string{"team": "web"}, At: at(110),
		APIKeys: map[string]*model.APIKey{"frontend": {Key: "frontend", RoleDescriptors: js(t, booksReadManifest)}},
	})
	lweb := liveProject(&model.Project{Type: model.Elasticsearch, Name: "website", Alias: "web", RegionID: "aws-us-east-1", OptimizedFor: "general_purpose", Tags: map[string]string{"team": "web"}}, "f60718293a4b5c6d7e8f90a1b2c3d4e5")
	lweb.Owner, lweb.Key = "", ""

	// shop: new, but its alias is held by an unmanaged project → refused.
	add(&model.Project{Key: "shop", Type: model.Elasticsearch, Name: "Shop", Alias: "shop", RegionID: "aws-us-east-1", At: at(130)})
	lshop := liveProject(&model.Project{Type: model.Elasticsearch, Name: "shop (by hand)", Alias: "shop", RegionID: "aws-us-east-1"}, "0718293a4b5c6d7e8f90a1b2c3d4e5f6")
	lshop.Owner, lshop.Key = "", ""

	// ghost: adopt: true but nothing carries its alias → located problem.
	add(&model.Project{Key: "ghost", Type: model.Elasticsearch, Name: "Ghost", Alias: "ghost", RegionID: "aws-us-east-1", Adopt: "true", At: at(150)})

	// no-creds: live, keys unreadable → problem; its project diff still shown.
	nc := add(&model.Project{
		Key: "no-creds", Type: model.Elasticsearch, Name: "No credentials", Alias: "no-creds", RegionID: "aws-us-east-1", At: at(170),
		APIKeys: map[string]*model.APIKey{"k": {Key: "k"}},
	})
	lnc := liveProject(nc, "18293a4b5c6d7e8f90a1b2c3d4e5f607")
	live.KeyErrors["no-creds"] = errors.New("no credentials for project 18293a4b5c6d7e8f90a1b2c3d4e5f607 in the credentials file; add them with `slsync credentials set no-creds`")

	// frankfurt: new in a region that accepts no projects → refused.
	add(&model.Project{Key: "frankfurt", Type: model.Elasticsearch, Name: "Frankfurt", Alias: "frankfurt", RegionID: "aws-eu-central-2", At: at(190)})

	// twin: two live projects carry its key → problem, nothing planned.
	tw := add(&model.Project{Key: "twin", Type: model.Elasticsearch, Name: "Twin", Alias: "twin", RegionID: "aws-us-east-1", At: at(200)})
	ltw1 := liveProject(tw, "293a4b5c6d7e8f90a1b2c3d4e5f60718")
	ltw2 := liveProject(tw, "3a4b5c6d7e8f90a1b2c3d4e5f6071829")

	// Another owner's project, and a deleted one of ours: never in the plan.
	other := liveProject(&model.Project{Key: "search-prod", Type: model.Elasticsearch, Name: "Their search", Alias: "theirs", RegionID: "aws-us-east-1"}, "4b5c6d7e8f90a1b2c3d4e5f60718293a")
	other.Owner = "someone-else"
	deleting := liveProject(&model.Project{Key: "old-thing", Type: model.Elasticsearch, Name: "Old", Alias: "old-thing", RegionID: "aws-us-east-1"}, "5c6d7e8f90a1b2c3d4e5f60718293a4b")
	deleting.Phase = model.PhaseDeleting

	live.Managed = []*model.LiveProject{legacy, lnc, lobs, lprod, lsec, ltw1, ltw2, lvec, deleting}
	live.Others = []*model.LiveProject{lweb, lshop, other}
	return set, live
}

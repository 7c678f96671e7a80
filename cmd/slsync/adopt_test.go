package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
)

// `slsync adopt KEY` tags a hand-made project in place (same id), after
// which plan sees it as managed; a second adopt has nothing to do; a
// manifest project with no live match is a clear error.
func TestAdoptCommand(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	id, _, _, _ := e.emu.CreateProject(t, "elasticsearch",
		`{"name":"Shop (by hand)","region_id":"aws-us-east-1","alias":"shop","metadata":{"tags":{"team":"web"}}}`)
	e.emu.WaitInitialized(t, "elasticsearch", id)

	dir := t.TempDir()
	manifest := filepath.Join(dir, "slsync.yaml")
	if err := os.WriteFile(manifest, []byte(`owner: web
projects:
  shop:
    type: elasticsearch
    name: Shop
    alias: shop
    region_id: aws-us-east-1
    tags: {team: web}
  ghost:
    type: elasticsearch
    name: Ghost
    alias: ghost
    region_id: aws-us-east-1
`), 0o644); err != nil {
		t.Fatal(err)
	}

	r := e.run(t, "plan", "-f", manifest)
	if r.Code != exitError || !strings.Contains(r.Stdout, `alias "shop" is already used`) {
		t.Fatalf("before adopting, plan should report the alias conflict (exit 1): %+v", r)
	}

	r = e.run(t, "adopt", "-f", manifest, "shop")
	if r.Code != exitError || !strings.Contains(r.Stderr, "--auto-approve") {
		t.Fatalf("adopt without a terminal must ask for --auto-approve: %+v", r)
	}

	r = e.run(t, "adopt", "-f", manifest, "shop", "--auto-approve")
	if r.Code != 0 || !strings.Contains(r.Stdout, "project.shop (adopt)") || !strings.Contains(r.Stdout, "now managed by web") {
		t.Fatalf("adopt: %+v", r)
	}
	got := e.projects(t)
	if got["web/shop"] != 1 || len(got) != 1 {
		t.Fatalf("after adopt, live projects by owner/key = %v; want exactly web/shop", got)
	}
	var p struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	e.emu.Cloud(t, "GET", "/api/v1/serverless/projects/elasticsearch/"+id, nil).JSON(t, &p)
	if p.ID != id || p.Name != "Shop" {
		t.Errorf("adopted project = %+v; want the same id %s renamed to the manifest's name", p, id)
	}

	r = e.run(t, "plan", "-f", manifest)
	if strings.Contains(r.Stdout, "project.shop") {
		t.Errorf("after adopt, plan still has an action for project.shop:\n%s", r.Stdout)
	}

	r = e.run(t, "adopt", "-f", manifest, "shop", "--auto-approve")
	if r.Code != exitError || !strings.Contains(r.Stderr, "already managed") {
		t.Errorf("second adopt: %+v", r)
	}
	r = e.run(t, "adopt", "-f", manifest, "ghost", "--auto-approve")
	if r.Code != exitError || !strings.Contains(r.Stderr, "slsync.yaml:") {
		t.Errorf("adopt with no live match should fail with a located error: %+v", r)
	}
	r = e.run(t, "adopt", "-f", manifest, "nope", "--auto-approve")
	if r.Code != exitError || !strings.Contains(r.Stderr, "the manifests define: ghost, shop") {
		t.Errorf("adopt of an unknown key: %+v", r)
	}
}

package cloud_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
	"github.com/slsync/slsync/internal/model"
)

const emuKey = "essu_emulator_key_for_tests"

func startEmulator(t *testing.T) (*emulator.Server, *cloud.ProjectClient, cloud.Options) {
	t.Helper()
	env := emulatortest.Start(t, emulator.Options{APIKey: emuKey, Seed: 3})
	opts := cloud.Options{Retry: cloud.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}}
	pc, err := cloud.NewProjectClient(env.URL, emuKey, opts)
	if err != nil {
		t.Fatal(err)
	}
	return env.Server, pc, opts
}

func TestProjectLifecycleAgainstEmulator(t *testing.T) {
	_, pc, opts := startEmulator(t)
	ctx := context.Background()
	p, err := pc.Create(ctx, model.Observability, &cloud.CreateProjectRequest{Name: "Logs", Alias: "logs", RegionID: "aws-us-east-1",
		Metadata: &cloud.CreateMetadata{Tags: map[string]string{"slsync-owner": "o", "slsync-key": "logs", "env": "dev"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.ETag == "" || p.Credentials.Username == "" || p.Credentials.Password.Reveal() == "" ||
		p.Alias != "logs-"+p.ID[:6] || p.Endpoints["elasticsearch"] == "" || p.Metadata.Tags["env"] != "dev" {
		t.Fatalf("created = %+v", p)
	}
	got, err := pc.Get(ctx, model.Observability, p.ID)
	if err != nil || got.ETag == "" || got.Name != "Logs" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := pc.Create(ctx, model.Observability, &cloud.CreateProjectRequest{Name: "Other", RegionID: "aws-us-east-1"}); err != nil {
		t.Fatal(err)
	}
	filtered, err := pc.List(ctx, model.Observability, map[string]string{"slsync-owner": "o"})
	if err != nil || len(filtered) != 1 || filtered[0].ID != p.ID {
		t.Fatalf("filtered list = %+v, %v", filtered, err)
	}
	all, err := pc.List(ctx, model.Observability, nil)
	if err != nil || len(all) != 2 {
		t.Fatalf("list = %d, %v", len(all), err)
	}

	name, tier := "Logs 2", "logs_essentials"
	patched, err := pc.Patch(ctx, model.Observability, p.ID, &cloud.PatchProjectRequest{Name: &name, ProductTier: &tier,
		Metadata: &cloud.PatchMetadata{Tags: map[string]*string{"env": nil}}}, got.ETag)
	if err != nil || patched.Name != name || patched.ProductTier != tier || patched.Metadata.Tags["env"] != "" || patched.ETag == got.ETag {
		t.Fatalf("patch = %+v, %v", patched, err)
	}
	if _, err := pc.Patch(ctx, model.Observability, p.ID, &cloud.PatchProjectRequest{Name: &name}, got.ETag); !cloud.IsPreconditionFailed(err) {
		t.Fatalf("stale If-Match: %v", err)
	}
	st, err := pc.Status(ctx, model.Observability, p.ID)
	if err != nil || st.Phase != model.PhaseInitialized {
		t.Fatalf("status = %+v, %v", st, err)
	}

	// Credentials work against the project's Elasticsearch until reset.
	oldES, err := cloud.NewESClient(p.Endpoints["elasticsearch"], p.Credentials.Username, p.Credentials.Password, opts)
	if err != nil {
		t.Fatal(err)
	}
	if who, err := oldES.Authenticate(ctx); err != nil || who.Username != p.Credentials.Username {
		t.Fatalf("authenticate = %+v, %v", who, err)
	}
	cr, err := pc.ResetCredentials(ctx, model.Observability, p.ID, "")
	if err != nil || cr.Password.Reveal() == p.Credentials.Password.Reveal() {
		t.Fatalf("reset = %v", err)
	}
	_, err = oldES.Authenticate(ctx)
	if !cloud.IsUnauthorized(err) || strings.Contains(err.Error(), p.Credentials.Password.Reveal()) {
		t.Fatalf("old password after reset: %v", err)
	}
	newES, _ := cloud.NewESClient(p.Endpoints["elasticsearch"], cr.Username, cr.Password, opts)
	k, err := newES.CreateAPIKey(ctx, &cloud.CreateAPIKeyRequest{Name: "k", Metadata: map[string]any{"slsync_owner": "o"}})
	if err != nil || k.Encoded.Reveal() == "" {
		t.Fatalf("create key: %v", err)
	}
	if upd, err := newES.UpdateAPIKey(ctx, k.ID, &cloud.UpdateAPIKeyRequest{Metadata: map[string]any{"slsync_owner": "o", "x": "y"}}); err != nil || !upd {
		t.Fatalf("update = %v, %v", upd, err)
	}
	keys, err := newES.QueryAPIKeys(ctx, &cloud.QueryAPIKeysRequest{Query: map[string]any{"term": map[string]any{"metadata.slsync_owner": "o"}}})
	if err != nil || len(keys) != 1 || keys[0].Metadata["x"] != "y" {
		t.Fatalf("query = %+v, %v", keys, err)
	}
	inv, err := newES.InvalidateAPIKeys(ctx, []string{k.ID})
	if err != nil || len(inv.Invalidated) != 1 {
		t.Fatalf("invalidate = %+v, %v", inv, err)
	}

	if _, err := pc.Region(ctx, "nowhere-1"); !cloud.IsNotFound(err) {
		t.Fatalf("unknown region: %v", err)
	}
	if rs, err := pc.Regions(ctx); err != nil || len(rs) == 0 {
		t.Fatalf("regions = %v, %v", rs, err)
	}
	latest, err := pc.Get(ctx, model.Observability, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Delete(ctx, model.Observability, p.ID, latest.ETag); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Get(ctx, model.Observability, p.ID); !cloud.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
}

// TestLostCreateAnswerIsNotRepeated: the emulator commits the create and drops
// the answer; the client must not create a second project.
func TestLostCreateAnswerIsNotRepeated(t *testing.T) {
	emu, pc, _ := startEmulator(t)
	ctx := context.Background()
	emu.SetFaults(emulator.Faults{PDrop: 1})
	emu.ResetStats()
	_, err := pc.Create(ctx, model.Elasticsearch, &cloud.CreateProjectRequest{Name: "X", RegionID: "aws-us-east-1",
		Metadata: &cloud.CreateMetadata{Tags: map[string]string{"slsync-owner": "o", "slsync-key": "x"}}})
	if !cloud.IsOutcomeUnknown(err) || cloud.IsNotFound(err) {
		t.Fatalf("err = %v, want outcome unknown", err)
	}
	if n := emu.Stats().Total; n != 1 {
		t.Fatalf("create was sent %d times", n)
	}
	emu.SetFaults(emulator.Faults{})
	ps, err := pc.List(ctx, model.Elasticsearch, map[string]string{"slsync-key": "x"})
	if err != nil || len(ps) != 1 {
		t.Fatalf("projects after a lost create = %d (%v), want exactly 1", len(ps), err)
	}

	// A conditional patch whose answer is lost is retried; the retry meets
	// the moved ETag and reports outcome unknown, not a conflict.
	cur, err := pc.Get(ctx, model.Elasticsearch, ps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	emu.SetFaults(emulator.Faults{PDrop: 1})
	name := "Y"
	_, err = pc.Patch(ctx, model.Elasticsearch, cur.ID, &cloud.PatchProjectRequest{Name: &name}, cur.ETag)
	if !cloud.IsOutcomeUnknown(err) || cloud.IsPreconditionFailed(err) {
		t.Fatalf("err = %v, want outcome unknown", err)
	}
	emu.SetFaults(emulator.Faults{})
	if after, _ := pc.Get(ctx, model.Elasticsearch, cur.ID); after.Name != "Y" {
		t.Fatalf("name = %q: the patch should have been applied once", after.Name)
	}
}

func TestWrongCloudKeyIsReadableAndRedacted(t *testing.T) {
	_, pc, opts := startEmulator(t)
	const wrong = "essu_WRONG_key_value"
	bad, err := cloud.NewProjectClient(pc.Endpoint(), wrong, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.List(context.Background(), model.Security, nil)
	if !cloud.IsUnauthorized(err) || !strings.Contains(err.Error(), "EC_API_KEY") || strings.Contains(err.Error(), wrong) {
		t.Fatalf("err = %v", err)
	}
}

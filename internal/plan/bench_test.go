package plan

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/model"
)

// fleet builds 500 projects × 10 keys whose live state matches the manifests
// (role descriptors as Elasticsearch returns them), optionally with a share
// of drift so that the changed path is measured too.
func fleet(b testing.TB, projects, keysPer int, drift bool) (*model.Set, *model.LiveState) {
	set := &model.Set{Owner: owner, Projects: map[string]*model.Project{}}
	live := &model.LiveState{Owner: owner}
	for i := range projects {
		pk := fmt.Sprintf("project-%04d", i)
		d := &model.Project{
			Key: pk, Type: model.Elasticsearch, Name: "Project " + pk, Alias: pk, RegionID: "aws-us-east-1",
			OptimizedFor: "general_purpose", SearchLake: &model.SearchLake{SearchPower: ptr(100)},
			Tags: map[string]string{"team": "t" + fmt.Sprint(i%7), "env": "prod"}, APIKeys: map[string]*model.APIKey{},
		}
		for j := range keysPer {
			kn := fmt.Sprintf("key-%02d", j)
			d.APIKeys[kn] = &model.APIKey{Key: kn, Expiration: "30d", RotateBefore: "7d",
				RoleDescriptors: js(b, booksReadManifest), Metadata: map[string]any{"team": "books", "n": j}}
		}
		set.Projects[pk] = d
		lp := liveProject(d, fmt.Sprintf("%032x", i+1))
		for j := range keysPer {
			kn := fmt.Sprintf("key-%02d", j)
			role := booksReadLive
			if drift && j == 0 && i%10 == 0 {
				role = booksWriteLive
			}
			lp.Keys = append(lp.Keys, liveKey(b, d.APIKeys[kn], fmt.Sprintf("k-%d-%d", i, j), role, now.Add(-24*time.Hour), 20*24*time.Hour))
		}
		live.Managed = append(live.Managed, lp)
	}
	return set, live
}

// BenchmarkCompute500x10 is the issue-4 target: the diff for 500 projects ×
// 10 keys (5,000 keys) in under 200 ms of CPU.
func BenchmarkCompute500x10(b *testing.B) {
	set, live := fleet(b, 500, 10, false)
	b.ResetTimer()
	for b.Loop() {
		p := Compute(set, live, Options{Now: now})
		if len(p.Actions) != 0 {
			b.Fatalf("fleet fixture is not in sync: %d actions", len(p.Actions))
		}
	}
}

// BenchmarkCompute500x10Drift has 50 keys with changed role descriptors
// (each producing a line diff).
func BenchmarkCompute500x10Drift(b *testing.B) {
	set, live := fleet(b, 500, 10, true)
	b.ResetTimer()
	for b.Loop() {
		p := Compute(set, live, Options{Now: now})
		if p.Summary.Update != 50 {
			b.Fatalf("want 50 updates, got %+v", p.Summary)
		}
	}
}

// BenchmarkRenderAll renders the drift plan in every format.
func BenchmarkRenderAll(b *testing.B) {
	set, live := fleet(b, 500, 10, true)
	p := Compute(set, live, Options{Now: now})
	var buf bytes.Buffer
	b.ResetTimer()
	for b.Loop() {
		for _, f := range []string{FormatText, FormatMarkdown, FormatJSON} {
			buf.Reset()
			if err := Render(&buf, p, f, false); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// The benchmark fixture itself is checked by a (fast) test so that a broken
// fixture cannot make the benchmark meaningless.
func TestFleetFixtureInSync(t *testing.T) {
	set, live := fleet(t, 20, 10, false)
	if p := Compute(set, live, Options{Now: now}); len(p.Actions) != 0 || len(p.Problems) != 0 {
		t.Fatalf("fleet fixture not in sync:\n%s", renderString(t, p))
	}
}

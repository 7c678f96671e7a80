package apply

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder hands out sequence numbers so that tests can check ordering
// without relying on clocks.
type recorder struct {
	seq   atomic.Int64
	mu    sync.Mutex
	start map[string]int64
	end   map[string]int64
}

func newRecorder() *recorder {
	return &recorder{start: map[string]int64{}, end: map[string]int64{}}
}

func (r *recorder) run(id string, work func() error) func(context.Context) error {
	return func(context.Context) error {
		s := r.seq.Add(1)
		r.mu.Lock()
		r.start[id] = s
		r.mu.Unlock()
		err := work()
		e := r.seq.Add(1)
		r.mu.Lock()
		r.end[id] = e
		r.mu.Unlock()
		return err
	}
}

func (r *recorder) ran(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.start[id]
	return ok
}

func TestRunGraphDependencyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rec := newRecorder()
	const n = 200
	nodes := make([]Node, n)
	for i := range nodes {
		id := fmt.Sprintf("n%03d", i)
		var deps []string
		// Random edges to earlier nodes only: a DAG by construction.
		for k := 0; i > 0 && k < rng.IntN(4); k++ {
			deps = append(deps, fmt.Sprintf("n%03d", rng.IntN(i)))
		}
		sleep := time.Duration(rng.IntN(300)) * time.Microsecond
		nodes[i] = Node{ID: id, DependsOn: deps, Run: rec.run(id, func() error { time.Sleep(sleep); return nil })}
	}
	// Present them in a shuffled order: the graph, not the slice, decides.
	rng.Shuffle(n, func(a, b int) { nodes[a], nodes[b] = nodes[b], nodes[a] })

	results, err := RunGraph(context.Background(), nodes, GraphOptions{Parallelism: 8})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.ID != nodes[i].ID || r.Status != StatusSucceeded || r.Err != nil || r.Started.IsZero() {
			t.Errorf("result %d = %+v, want %s succeeded", i, r, nodes[i].ID)
		}
	}
	edges := 0
	for _, nd := range nodes {
		for _, dep := range nd.DependsOn {
			edges++
			if rec.end[dep] >= rec.start[nd.ID] {
				t.Errorf("%s started (seq %d) before its dependency %s finished (seq %d)", nd.ID, rec.start[nd.ID], dep, rec.end[dep])
			}
		}
	}
	if edges < n/2 {
		t.Fatalf("test graph too sparse: %d edges", edges)
	}
}

func TestRunGraphBoundsParallelism(t *testing.T) {
	for _, limit := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var cur, peak atomic.Int64
			reached := make(chan struct{})
			var once sync.Once
			nodes := make([]Node, 40)
			for i := range nodes {
				nodes[i] = Node{ID: fmt.Sprint(i), Run: func(context.Context) error {
					c := cur.Add(1)
					defer cur.Add(-1)
					for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
					}
					if c == int64(limit) {
						once.Do(func() { close(reached) })
					}
					// Every node waits until the limit was reached once, so the
					// limit is proven reachable, not just respected.
					select {
					case <-reached:
						return nil
					case <-time.After(10 * time.Second):
						return errors.New("parallelism never reached the limit")
					}
				}}
			}
			results, err := RunGraph(context.Background(), nodes, GraphOptions{Parallelism: limit})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.Status != StatusSucceeded {
					t.Fatalf("%s: %v", r.ID, r.Err)
				}
			}
			if got := peak.Load(); got != int64(limit) {
				t.Errorf("peak concurrency %d, want exactly %d", got, limit)
			}
		})
	}
}

func TestRunGraphUnlimitedNodesTakeNoSlot(t *testing.T) {
	// Parallelism 1, five waiting nodes and one bounded node: all six must
	// be running at the same time, or the barrier never opens.
	const waiters = 5
	var arrived sync.WaitGroup
	arrived.Add(waiters + 1)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	barrier := func(context.Context) error {
		arrived.Done()
		select {
		case <-all:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("not all nodes ran at once")
		}
	}
	var nodes []Node
	for i := range waiters {
		nodes = append(nodes, Node{ID: fmt.Sprint("wait", i), Run: barrier, Unlimited: true})
	}
	nodes = append(nodes, Node{ID: "api-call", Run: barrier})
	results, err := RunGraph(context.Background(), nodes, GraphOptions{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Status != StatusSucceeded {
			t.Errorf("%s: %v", r.ID, r.Err)
		}
	}
}

func TestRunGraphFailureFailsOnlyDependents(t *testing.T) {
	rec := newRecorder()
	ok := func() error { return nil }
	boom := errors.New("409 conflict: alias taken")
	nodes := []Node{
		{ID: "project.a", Run: rec.run("project.a", func() error { return boom })},
		{ID: "wait.a", DependsOn: []string{"project.a"}, Run: rec.run("wait.a", ok)},
		{ID: "key.a.reader", DependsOn: []string{"wait.a"}, Run: rec.run("key.a.reader", ok)},
		{ID: "both", DependsOn: []string{"key.a.reader", "project.b"}, Run: rec.run("both", ok)},
		{ID: "project.b", Run: rec.run("project.b", ok)},
		{ID: "key.b.writer", DependsOn: []string{"project.b"}, Run: rec.run("key.b.writer", ok)},
	}
	results, err := RunGraph(context.Background(), nodes, GraphOptions{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		status Status
		msg    string
	}{
		"project.a":    {StatusFailed, "409 conflict: alias taken"},
		"wait.a":       {StatusSkipped, "not run: depends on project.a which failed"},
		"key.a.reader": {StatusSkipped, "not run: depends on project.a which failed (via wait.a)"},
		"both":         {StatusSkipped, "not run: depends on project.a which failed (via key.a.reader)"},
		"project.b":    {StatusSucceeded, ""},
		"key.b.writer": {StatusSucceeded, ""},
	}
	for _, r := range results {
		w := want[r.ID]
		msg := ""
		if r.Err != nil {
			msg = r.Err.Error()
		}
		if r.Status != w.status || msg != w.msg {
			t.Errorf("%s: %s %q, want %s %q", r.ID, r.Status, msg, w.status, w.msg)
		}
		if r.Status == StatusSkipped {
			if rec.ran(r.ID) || !r.Started.IsZero() {
				t.Errorf("skipped node %s ran", r.ID)
			}
			var se *SkippedError
			if !errors.As(r.Err, &se) || se.FailedDep != "project.a" {
				t.Errorf("%s: error %#v is not a SkippedError naming project.a", r.ID, r.Err)
			}
		}
	}
	if !errors.Is(results[0].Err, boom) {
		t.Errorf("failed node's error is not Run's error: %v", results[0].Err)
	}
}

func TestRunGraphCancellationStopsStarting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started atomic.Int64
	nodes := make([]Node, 10)
	for i := range nodes {
		nodes[i] = Node{ID: fmt.Sprint("n", i), Run: func(ctx context.Context) error {
			started.Add(1)
			if i == 2 {
				cancel()
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		}}
	}
	results, err := RunGraph(ctx, nodes, GraphOptions{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	if started.Load() != 3 {
		t.Errorf("%d nodes started, want 3 (none after the cancel)", started.Load())
	}
	for i, r := range results {
		switch {
		case i < 2 && r.Status != StatusSucceeded,
			i == 2 && (r.Status != StatusFailed || !errors.Is(r.Err, context.Canceled)),
			i > 2 && (r.Status != StatusSkipped || !errors.Is(r.Err, context.Canceled) || !strings.Contains(r.Err.Error(), "stopped before it started")):
			t.Errorf("node %d: %s %v", i, r.Status, r.Err)
		}
	}
}

func TestRunGraphRejectsMalformedGraphs(t *testing.T) {
	var ran atomic.Bool
	run := func(context.Context) error { ran.Store(true); return nil }
	tests := []struct {
		name  string
		nodes []Node
		want  string
	}{
		{"cycle", []Node{
			{ID: "ok", Run: run},
			{ID: "a", DependsOn: []string{"c"}, Run: run},
			{ID: "b", DependsOn: []string{"a"}, Run: run},
			{ID: "c", DependsOn: []string{"b", "ok"}, Run: run},
		}, "dependency cycle (each depends on the next): a → c → b → a"},
		{"self", []Node{{ID: "a", DependsOn: []string{"a"}, Run: run}}, "a depends on itself"},
		{"unknown", []Node{{ID: "a", DependsOn: []string{"ghost"}, Run: run}}, "a depends on ghost, which is not in the graph"},
		{"duplicate", []Node{{ID: "a", Run: run}, {ID: "a", Run: run}}, "a is defined twice"},
		{"no id", []Node{{ID: "a", Run: run}, {Run: run}}, "node #2 has no ID"},
		{"no run", []Node{{ID: "a"}}, "a has nothing to run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := RunGraph(context.Background(), tc.nodes, GraphOptions{Parallelism: 4})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if res != nil || ran.Load() {
				t.Error("nodes ran despite a malformed graph")
			}
		})
	}
}

func TestRunGraphEvents(t *testing.T) {
	var inCallback atomic.Bool
	var mu sync.Mutex
	var log []string
	onEvent := func(ev Event) {
		if inCallback.Swap(true) {
			t.Error("OnEvent called concurrently")
		}
		defer inCallback.Store(false)
		time.Sleep(100 * time.Microsecond) // widen the window for overlap
		mu.Lock()
		defer mu.Unlock()
		switch ev.Kind {
		case EventStarted:
			log = append(log, "start "+ev.ID)
		case EventFinished:
			log = append(log, "finish "+ev.ID+" "+string(ev.Result.Status))
		}
	}
	nodes := []Node{
		{ID: "a", Run: func(context.Context) error { return errors.New("x") }},
		{ID: "b", DependsOn: []string{"a"}, Run: func(context.Context) error { return nil }},
	}
	for i := range 8 {
		nodes = append(nodes, Node{ID: fmt.Sprint("p", i), Run: func(context.Context) error { return nil }})
	}
	if _, err := RunGraph(context.Background(), nodes, GraphOptions{Parallelism: 4, OnEvent: onEvent}); err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, l := range log {
		pos[l] = i
	}
	if _, ok := pos["start b"]; ok {
		t.Error("skipped node b had a start event")
	}
	if _, ok := pos["finish b skipped"]; !ok {
		t.Errorf("no finish event for skipped b: %v", log)
	}
	for i := range 8 {
		s, okS := pos[fmt.Sprint("start p", i)]
		f, okF := pos[fmt.Sprint("finish p", i, " succeeded")]
		if !okS || !okF || s > f {
			t.Errorf("p%d: start at %d (%v), finish at %d (%v)", i, s, okS, f, okF)
		}
	}
	if len(log) != 19 {
		t.Errorf("%d events, want 19: %v", len(log), log)
	}
}

func TestRunGraphPriorityAndPanics(t *testing.T) {
	var order []string
	nodes := []Node{
		{ID: "first", Run: func(context.Context) error { order = append(order, "first"); return nil }},
		{ID: "panics", Run: func(context.Context) error { order = append(order, "panics"); panic("nil map") }},
		{ID: "after-panic", DependsOn: []string{"panics"}, Run: func(context.Context) error { return nil }},
		{ID: "third", Run: func(context.Context) error { order = append(order, "third"); return nil }},
	}
	results, err := RunGraph(context.Background(), nodes, GraphOptions{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, ","); got != "first,panics,third" {
		t.Errorf("with parallelism 1 nodes ran as %s, want slice order", got)
	}
	if results[1].Status != StatusFailed || !strings.Contains(results[1].Err.Error(), "panics panicked: nil map") {
		t.Errorf("panicking node: %s %v", results[1].Status, results[1].Err)
	}
	if results[2].Status != StatusSkipped {
		t.Errorf("dependent of a panicking node: %s", results[2].Status)
	}
}

func TestRunGraphEmpty(t *testing.T) {
	res, err := RunGraph(context.Background(), nil, GraphOptions{})
	if err != nil || len(res) != 0 {
		t.Errorf("empty graph: %v, %v", res, err)
	}
}

// BenchmarkRunGraph measures scheduling overhead for the size of the apply
// benchmark (200 projects × 10 keys, each key depending on its project).
func BenchmarkRunGraph(b *testing.B) {
	var nodes []Node
	noop := func(context.Context) error { return nil }
	for p := range 200 {
		pid := fmt.Sprint("project.", p)
		nodes = append(nodes, Node{ID: pid, Run: noop})
		for k := range 10 {
			nodes = append(nodes, Node{ID: fmt.Sprint("key.", p, ".", k), DependsOn: []string{pid}, Run: noop})
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := RunGraph(context.Background(), nodes, GraphOptions{Parallelism: 16}); err != nil {
			b.Fatal(err)
		}
	}
}

// An AfterAll node runs once every dependency has finished — succeeded,
// failed or skipped — and not before the last one; a failure passes through
// it to nobody, while its own failure skips its dependents as usual.
func TestRunGraphAfterAll(t *testing.T) {
	// One recorder: each case's checks run before the next case starts.
	rec := newRecorder()
	ok := func() error { return nil }
	boom := errors.New("boom")
	slow := func() error { time.Sleep(20 * time.Millisecond); return nil }
	tests := []struct {
		name  string
		nodes []Node
		want  map[string]Status
		// after: node → nodes that must have ended before it started.
		after map[string][]string
	}{
		{
			name: "dependencies succeed, fail and are skipped",
			nodes: []Node{
				{ID: "project", Run: rec.run("project", ok)},
				{ID: "key.ok", DependsOn: []string{"project"}, Run: rec.run("key.ok", slow)},
				{ID: "key.failed", DependsOn: []string{"project"}, Run: rec.run("key.failed", func() error { return boom })},
				{ID: "gate", Run: rec.run("gate", func() error { return boom })},
				{ID: "key.skipped", DependsOn: []string{"project", "gate"}, Run: rec.run("key.skipped", ok)},
				{ID: "settle", AfterAll: true, DependsOn: []string{"key.ok", "key.failed", "key.skipped"}, Run: rec.run("settle", ok)},
				{ID: "after.settle", DependsOn: []string{"settle"}, Run: rec.run("after.settle", ok)},
			},
			want: map[string]Status{"project": StatusSucceeded, "key.ok": StatusSucceeded, "key.failed": StatusFailed, "gate": StatusFailed,
				"key.skipped": StatusSkipped, "settle": StatusSucceeded, "after.settle": StatusSucceeded},
			after: map[string][]string{"settle": {"key.ok", "key.failed"}},
		},
		{
			name: "a failed AfterAll node skips its dependents",
			nodes: []Node{
				{ID: "a", Run: rec.run("a", func() error { return boom })},
				{ID: "settle", AfterAll: true, DependsOn: []string{"a"}, Run: rec.run("settle", func() error { return boom })},
				{ID: "next", DependsOn: []string{"settle"}, Run: rec.run("next", ok)},
			},
			want: map[string]Status{"a": StatusFailed, "settle": StatusFailed, "next": StatusSkipped},
		},
		{
			name: "skipping stops at an AfterAll node and resumes after it only on failure",
			nodes: []Node{
				{ID: "a", Run: rec.run("a", func() error { return boom })},
				{ID: "b", DependsOn: []string{"a"}, Run: rec.run("b", ok)},
				{ID: "settle", AfterAll: true, DependsOn: []string{"b"}, Run: rec.run("settle", ok)},
				{ID: "c", DependsOn: []string{"settle", "b"}, Run: rec.run("c", ok)},
			},
			want: map[string]Status{"a": StatusFailed, "b": StatusSkipped, "settle": StatusSucceeded, "c": StatusSkipped},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results, err := RunGraph(context.Background(), tt.nodes, GraphOptions{Parallelism: 4})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.Status != tt.want[r.ID] {
					t.Errorf("%s: %s (%v), want %s", r.ID, r.Status, r.Err, tt.want[r.ID])
				}
			}
			for n, before := range tt.after {
				for _, b := range before {
					if rec.end[b] == 0 || rec.start[n] < rec.end[b] {
						t.Errorf("%s started (%d) before %s ended (%d)", n, rec.start[n], b, rec.end[b])
					}
				}
			}
		})
	}
}

// After the context ended, AfterAll nodes still run — once what they
// depend on has finished, with the ended context — and nothing else starts.
func TestRunGraphAfterAllRunsAfterCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	var settleCtxErr atomic.Value
	var ranLate atomic.Bool
	nodes := []Node{
		{ID: "key.running", Run: func(ctx context.Context) error {
			cancel()
			<-release // still busy after the cancel
			return nil
		}},
		{ID: "key.queued", Run: func(ctx context.Context) error { ranLate.Store(true); return nil }},
		{ID: "settle", AfterAll: true, DependsOn: []string{"key.running", "key.queued"}, Run: func(ctx context.Context) error {
			settleCtxErr.Store(fmt.Sprint(ctx.Err()))
			return nil
		}},
		{ID: "after.settle", DependsOn: []string{"settle"}, Run: func(ctx context.Context) error { ranLate.Store(true); return nil }},
	}
	go func() {
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond)
		close(release)
	}()
	results, err := RunGraph(ctx, nodes, GraphOptions{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []Status{StatusSucceeded, StatusSkipped, StatusSucceeded, StatusSkipped}
	for i, r := range results {
		if r.Status != want[i] {
			t.Errorf("%s: %s (%v), want %s", r.ID, r.Status, r.Err, want[i])
		}
	}
	if ranLate.Load() {
		t.Error("a node that is not AfterAll started after the cancel")
	}
	if got := settleCtxErr.Load(); got != context.Canceled.Error() {
		t.Errorf("the AfterAll node saw ctx error %v, want %v", got, context.Canceled)
	}
}

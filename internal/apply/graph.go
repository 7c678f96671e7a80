package apply

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// Node is one unit of work in a dependency graph: typically one plan action
// (create a project, wait for it, create a key, deliver its secret).
type Node struct {
	// ID names the node in results and messages ("project.search-prod").
	ID string
	// DependsOn lists the IDs that must succeed before this node runs (for
	// an AfterAll node: that must have finished).
	DependsOn []string
	// Run does the work. Its context ends when the graph's context does.
	Run func(ctx context.Context) error
	// Unlimited nodes run without taking one of the Parallelism slots. Use
	// it for nodes that mostly wait (readiness polling): 200 projects
	// initializing at once must not hold every slot while keys of projects
	// that are ready already could be created.
	Unlimited bool
	// AfterAll nodes run once every dependency has finished, whatever its
	// outcome (succeeded, failed or skipped), and are never skipped because
	// of one: a node that settles what its dependencies left behind (apply
	// removes a new project's slsync-pending tag once its key actions all
	// reached a known end). They also start after the graph's context has
	// ended — as a deferred call runs after a panic — so Run gets that
	// context and must itself bound whatever it still does. Their own
	// dependents follow the usual rules.
	AfterAll bool
}

// Status is the outcome of a node.
type Status string

const (
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	// StatusSkipped: the node never ran, because a dependency failed or
	// was skipped, or because the context ended first.
	StatusSkipped Status = "skipped"
)

// Result is what happened to one node.
type Result struct {
	ID     string
	Status Status
	// Err is Run's error (failed), or a *SkippedError (skipped).
	Err error
	// Started is when Run was called; zero for a skipped node.
	Started time.Time
	Elapsed time.Duration
}

// SkippedError says why a node did not run.
type SkippedError struct {
	// FailedDep is the failed node this one (transitively) depends on;
	// empty when the node was skipped because the context ended.
	FailedDep string
	// Via is the direct dependency through which FailedDep was reached,
	// when that is not FailedDep itself.
	Via string
	// Cause is the context's error when the run was cancelled.
	Cause error
}

func (e *SkippedError) Error() string {
	switch {
	case e.FailedDep == "":
		return fmt.Sprintf("not run: stopped before it started (%v)", e.Cause)
	case e.Via != "":
		return fmt.Sprintf("not run: depends on %s which failed (via %s)", e.FailedDep, e.Via)
	default:
		return fmt.Sprintf("not run: depends on %s which failed", e.FailedDep)
	}
}

func (e *SkippedError) Unwrap() error { return e.Cause }

// EventKind distinguishes graph events.
type EventKind int

const (
	// EventStarted: Run is about to be called.
	EventStarted EventKind = iota
	// EventFinished: the node has its final Result (including skipped
	// nodes, which never started).
	EventFinished
)

// Event reports progress of RunGraph.
type Event struct {
	Kind   EventKind
	ID     string
	Result Result // set for EventFinished
}

// GraphOptions tune RunGraph.
type GraphOptions struct {
	// Parallelism bounds how many nodes (other than Unlimited ones) run at
	// once; values below 1 mean 1.
	Parallelism int
	// OnEvent, if set, is called as nodes start and finish. Calls come from
	// a single goroutine, one at a time, so it needs no locking of its own
	// (but must not block for long: it delays scheduling).
	OnEvent func(Event)
}

// RunGraph runs nodes in dependency order, at most opts.Parallelism at a
// time, and returns one Result per node in the order of nodes.
//
// A node runs only after all its dependencies succeeded. When a node fails,
// every node that depends on it, directly or not, is skipped, while nodes
// that do not depend on it keep running: a failure fails only what depends
// on it. An AfterAll node is the exception: it waits for its dependencies to
// finish and then runs whatever their outcome, which also stops the
// skipping from passing through it. Among nodes ready at the same time,
// earlier nodes in the slice start first, so callers order nodes by
// priority (projects, whose initialization takes longest, before keys).
//
// Once ctx ends no node starts any more, except AfterAll nodes; running
// nodes see ctx end and the nodes never started are skipped. A Run that
// panics fails its node.
//
// The error is non-nil only for a malformed graph (duplicate or empty ID,
// nil Run, unknown dependency, cycle), reported before anything runs.
func RunGraph(ctx context.Context, nodes []Node, opts GraphOptions) ([]Result, error) {
	g, err := buildGraph(nodes)
	if err != nil {
		return nil, err
	}
	limit := max(opts.Parallelism, 1)
	emit := func(ev Event) {
		if opts.OnEvent != nil {
			opts.OnEvent(ev)
		}
	}

	n := len(nodes)
	results := make([]Result, n)
	final := make([]bool, n)
	waiting := make([]int, n) // unfinished dependencies
	for i := range nodes {
		results[i].ID = nodes[i].ID
		waiting[i] = len(g.deps[i])
	}
	// Ready nodes wait in two queues so that Unlimited ones never queue
	// behind nodes that need a slot.
	ready, readyUnlimited := &indexHeap{}, &indexHeap{}
	push := func(i int) {
		if nodes[i].Unlimited {
			heap.Push(readyUnlimited, i)
		} else {
			heap.Push(ready, i)
		}
	}
	for i := range nodes {
		if waiting[i] == 0 {
			push(i)
		}
	}

	type done struct {
		i int
		r Result
	}
	doneCh := make(chan done)
	running, bounded, finished := 0, 0, 0

	// finish records a node's final result and passes it on: dependents
	// whose dependencies are all done become ready (an AfterAll dependent
	// whatever the outcome), the other dependents of a node that did not
	// succeed are skipped, transitively. None of those can have started.
	finish := func(i int, r Result) {
		type item struct {
			i int
			r Result
		}
		queue := []item{{i, r}}
		final[i] = true
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			results[cur.i] = cur.r
			finished++
			emit(Event{Kind: EventFinished, ID: cur.r.ID, Result: cur.r})
			for _, d := range g.dependents[cur.i] {
				if final[d] {
					continue
				}
				if cur.r.Status == StatusSucceeded || nodes[d].AfterAll {
					waiting[d]--
					if waiting[d] == 0 {
						push(d)
					}
					continue
				}
				final[d] = true
				queue = append(queue, item{d, Result{ID: nodes[d].ID, Status: StatusSkipped, Err: skippedBecause(nodes[cur.i].ID, cur.r)}})
			}
		}
	}

	for finished < n {
		// Start what may start. Once ctx ended, only AfterAll nodes do;
		// the others are skipped as they become ready.
		for {
			var i int
			switch {
			case readyUnlimited.Len() > 0:
				i = heap.Pop(readyUnlimited).(int)
			case ready.Len() > 0 && bounded < limit:
				i = heap.Pop(ready).(int)
				bounded++
			default:
				i = -1
			}
			if i < 0 {
				break
			}
			if err := ctx.Err(); err != nil && !nodes[i].AfterAll {
				if !nodes[i].Unlimited {
					bounded--
				}
				finish(i, Result{ID: nodes[i].ID, Status: StatusSkipped, Err: &SkippedError{Cause: err}})
				continue
			}
			running++
			emit(Event{Kind: EventStarted, ID: nodes[i].ID})
			go func(i int) {
				doneCh <- done{i, runNode(ctx, nodes[i])}
			}(i)
		}
		if finished == n {
			break
		}
		if running == 0 {
			// Nothing runs and nothing can start: unreachable for a
			// validated graph (ready nodes start or, once ctx ended, are
			// skipped), but never hang.
			cause := ctx.Err()
			if cause == nil {
				cause = errors.New("scheduler stalled")
			}
			for i := range nodes {
				if !final[i] {
					final[i] = true
					results[i] = Result{ID: nodes[i].ID, Status: StatusSkipped, Err: &SkippedError{Cause: cause}}
					finished++
					emit(Event{Kind: EventFinished, ID: nodes[i].ID, Result: results[i]})
				}
			}
			break
		}
		d := <-doneCh
		running--
		if !nodes[d.i].Unlimited {
			bounded--
		}
		finish(d.i, d.r)
	}
	return results, nil
}

// skippedBecause says why a dependent of node id, which ended with r
// (failed, or skipped itself), is skipped.
func skippedBecause(id string, r Result) *SkippedError {
	var prev *SkippedError
	if r.Status == StatusSkipped && errors.As(r.Err, &prev) {
		if prev.FailedDep == "" {
			return &SkippedError{Cause: prev.Cause} // the run was stopped
		}
		return &SkippedError{FailedDep: prev.FailedDep, Via: id}
	}
	return &SkippedError{FailedDep: id}
}

// runNode calls n.Run, timing it and turning a panic into a failure.
func runNode(ctx context.Context, n Node) (r Result) {
	r.ID = n.ID
	r.Started = time.Now()
	defer func() {
		r.Elapsed = time.Since(r.Started)
		if p := recover(); p != nil {
			r.Status = StatusFailed
			r.Err = fmt.Errorf("internal error: %s panicked: %v\n%s", n.ID, p, debug.Stack())
		}
	}()
	if err := n.Run(ctx); err != nil {
		r.Status, r.Err = StatusFailed, err
	} else {
		r.Status = StatusSucceeded
	}
	return r
}

type graph struct {
	deps       [][]int // deps[i]: nodes i depends on (deduplicated)
	dependents [][]int // dependents[i]: nodes that depend on i
}

func buildGraph(nodes []Node) (*graph, error) {
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		switch {
		case n.ID == "":
			return nil, fmt.Errorf("graph node #%d has no ID", i+1)
		case n.Run == nil:
			return nil, fmt.Errorf("graph node %s has nothing to run", n.ID)
		}
		if _, dup := index[n.ID]; dup {
			return nil, fmt.Errorf("graph node %s is defined twice", n.ID)
		}
		index[n.ID] = i
	}
	g := &graph{deps: make([][]int, len(nodes)), dependents: make([][]int, len(nodes))}
	for i, n := range nodes {
		for _, dep := range n.DependsOn {
			j, ok := index[dep]
			if !ok {
				return nil, fmt.Errorf("graph node %s depends on %s, which is not in the graph", n.ID, dep)
			}
			if j == i {
				return nil, fmt.Errorf("graph node %s depends on itself", n.ID)
			}
			if slices.Contains(g.deps[i], j) {
				continue
			}
			g.deps[i] = append(g.deps[i], j)
			g.dependents[j] = append(g.dependents[j], i)
		}
	}
	if cycle := findCycle(g, nodes); cycle != nil {
		return nil, fmt.Errorf("graph has a dependency cycle (each depends on the next): %s", strings.Join(cycle, " → "))
	}
	return g, nil
}

// findCycle returns the IDs along one cycle (first repeated at the end), or
// nil. Iterative DFS, so that deep chains cannot overflow the stack.
func findCycle(g *graph, nodes []Node) []string {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(nodes))
	parent := make([]int, len(nodes))
	type frame struct{ node, next int }
	for start := range nodes {
		if color[start] != white {
			continue
		}
		stack := []frame{{start, 0}}
		color[start] = grey
		parent[start] = -1
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(g.deps[top.node]) {
				color[top.node] = black
				stack = stack[:len(stack)-1]
				continue
			}
			dep := g.deps[top.node][top.next]
			top.next++
			switch color[dep] {
			case white:
				color[dep] = grey
				parent[dep] = top.node
				stack = append(stack, frame{dep, 0})
			case grey:
				// top.node depends on dep, which is on the current path.
				var ids []string
				for c := top.node; c != dep; c = parent[c] {
					ids = append(ids, nodes[c].ID)
				}
				ids = append(ids, nodes[dep].ID)
				slices.Reverse(ids)
				return append(ids, ids[0])
			}
		}
	}
	return nil
}

// indexHeap is a min-heap of node indices: the lowest index is the highest
// priority.
type indexHeap []int

func (h indexHeap) Len() int           { return len(h) }
func (h indexHeap) Less(a, b int) bool { return h[a] < h[b] }
func (h indexHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *indexHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *indexHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

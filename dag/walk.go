package dag

import (
	"context"
	"fmt"
	"runtime/debug"
)

// WalkResult is the outcome of one node of a Walk. Exactly one holds:
//   - fn ran: Skipped is false and Err is what fn returned (nil = success);
//   - a parent failed: Skipped is true, SkippedBy names the failed ancestor
//     (the smallest id when several failed) and Err is nil;
//   - the context was cancelled before the node started: Skipped and
//     Cancelled are true and Err is the context's error;
//   - the node lies on or after a cycle: Skipped is true and Err is the
//     *CycleError.
type WalkResult struct {
	Err       error
	Skipped   bool
	SkippedBy string
	Cancelled bool
}

// Walk runs fn for every node of g in dependency order on `workers`
// goroutines (fewer than 1 means 1), and returns one result per node.
//
// A node starts only when all its parents succeeded; when several nodes
// are ready, the smallest id starts first. When fn returns an error (or
// panics, which is turned into an error), every descendant is skipped
// without calling fn. When ctx is cancelled no new node starts; running
// nodes finish (fn receives ctx and should stop early), and every node not
// started is reported Cancelled. Walk returns after every fn it called has
// returned, and never deadlocks, even on a cyclic graph: nodes that can
// never become ready are reported skipped with a *CycleError.
func (g *Graph) Walk(ctx context.Context, workers int, fn func(ctx context.Context, id string) error) map[string]WalkResult {
	n := len(g.names)
	results := make(map[string]WalkResult, n)
	if n == 0 {
		return results
	}
	if workers < 1 {
		workers = 1
	}
	workers = min(workers, n)
	rank, sorted := g.ranks()

	const (
		waiting = iota
		running
		finished // succeeded, failed or skipped
	)
	state := make([]uint8, n)
	pending := make([]int32, n) // parents not yet succeeded
	ready := rankHeap{}
	for _, i := range sorted {
		pending[i] = int32(len(g.parents[i]))
		if pending[i] == 0 {
			ready = append(ready, rank[i])
		}
	}
	skippedBy := make([]int32, n) // -1: not skipped by a failure
	for i := range skippedBy {
		skippedBy[i] = -1
	}

	type done struct {
		node int32
		err  error
	}
	work := make(chan int32, workers) // never holds more than `workers` items
	doneCh := make(chan done, workers)
	for range workers {
		go func() {
			for i := range work {
				doneCh <- done{i, call(ctx, fn, g.names[i])}
			}
		}()
	}

	// skip marks every descendant of failed that has not started as skipped
	// by it, or by a smaller failed id already recorded.
	var stack []int32
	skip := func(failed int32) {
		seen := map[int32]bool{}
		stack = append(stack[:0], g.children[failed]...)
		for len(stack) > 0 {
			c := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[c] || state[c] == running {
				continue
			}
			seen[c] = true
			if state[c] == finished && skippedBy[c] < 0 {
				continue // ran earlier; cannot happen for a true descendant
			}
			if skippedBy[c] < 0 || rank[failed] < rank[skippedBy[c]] {
				skippedBy[c] = failed
			}
			state[c] = finished
			stack = append(stack, g.children[c]...)
		}
	}

	inFlight := 0
	ctxDone := ctx.Done()
	cancelled := ctx.Err() != nil
	for {
		if !cancelled && ctx.Err() != nil {
			cancelled = true
		}
		for !cancelled && inFlight < workers && len(ready) > 0 {
			i := sorted[ready.pop()]
			if state[i] != waiting {
				continue
			}
			state[i] = running
			inFlight++
			work <- i
		}
		if inFlight == 0 {
			break
		}
		select {
		case d := <-doneCh:
			inFlight--
			state[d.node] = finished
			results[g.names[d.node]] = WalkResult{Err: d.err}
			if d.err != nil {
				skip(d.node)
				continue
			}
			for _, c := range g.children[d.node] {
				if pending[c]--; pending[c] == 0 && state[c] == waiting {
					ready.push(rank[c])
				}
			}
		case <-ctxDone:
			cancelled = true
			ctxDone = nil
		}
	}
	close(work)

	var cyc error
	for i, name := range g.names {
		switch {
		case skippedBy[i] >= 0:
			results[name] = WalkResult{Skipped: true, SkippedBy: g.names[skippedBy[i]]}
		case state[i] == finished:
		case cancelled:
			results[name] = WalkResult{Skipped: true, Cancelled: true, Err: ctx.Err()}
		default:
			if cyc == nil {
				if _, c := g.topo(); c != nil {
					cyc = c
				}
			}
			results[name] = WalkResult{Skipped: true, Err: cyc}
		}
	}
	return results
}

// call runs fn and turns a panic into an error, so one broken node cannot
// take the walk down with it.
func call(ctx context.Context, fn func(context.Context, string) error, id string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in %s: %v\n%s", id, r, debug.Stack())
		}
	}()
	return fn(ctx, id)
}

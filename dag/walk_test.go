package dag

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a walk function that records start order and checks that
// every parent finished successfully before a node starts.
type recorder struct {
	g       *Graph
	fail    map[string]bool
	mu      sync.Mutex
	started []string
	ok      map[string]bool
	bad     []string
}

func (r *recorder) fn(ctx context.Context, id string) error {
	r.mu.Lock()
	r.started = append(r.started, id)
	for _, p := range r.g.Parents(id) {
		if !r.ok[p] {
			r.bad = append(r.bad, fmt.Sprintf("%s started before parent %s succeeded", id, p))
		}
	}
	r.mu.Unlock()
	if r.fail[id] {
		return errors.New("boom " + id)
	}
	r.mu.Lock()
	r.ok[id] = true
	r.mu.Unlock()
	return nil
}

func summarize(res map[string]WalkResult) string {
	var lines []string
	for id, r := range res {
		s := id + ":"
		switch {
		case r.Cancelled:
			s += "cancelled"
		case r.Skipped && r.SkippedBy != "":
			s += "skipped-by-" + r.SkippedBy
		case r.Skipped:
			s += "skipped(" + fmt.Sprint(r.Err) + ")"
		case r.Err != nil:
			s += "error"
		default:
			s += "ok"
		}
		lines = append(lines, s)
	}
	sort.Strings(lines)
	return strings.Join(lines, " ")
}

func TestWalk(t *testing.T) {
	tests := []struct {
		name    string
		graph   []string
		fail    []string
		workers int
		want    string
		order   string // start order, checked with one worker
	}{
		{"empty", nil, nil, 4, "", ""},
		{"chain", []string{"a>b", "b>c"}, nil, 4, "a:ok b:ok c:ok", "a b c"},
		{"ready in id order", []string{"c", "a", "b"}, nil, 1, "a:ok b:ok c:ok", "a b c"},
		{"newly ready smaller id first", []string{"m>a", "m>z", "n"}, nil, 1, "a:ok m:ok n:ok z:ok", "m a n z"},
		{"failure skips descendants", []string{"a>b", "b>c", "a>d", "x>d", "x>y"}, []string{"b"}, 3,
			"a:ok b:error c:skipped-by-b d:ok x:ok y:ok", ""},
		{"fan-in, two failures, smallest wins", []string{"f1>m", "f2>m", "m>n"}, []string{"f1", "f2"}, 2,
			"f1:error f2:error m:skipped-by-f1 n:skipped-by-f1", ""},
		{"fan-in, reverse", []string{"f2>m", "f1>m", "m>n"}, []string{"f2", "f1"}, 1,
			"f1:error f2:error m:skipped-by-f1 n:skipped-by-f1", ""},
		{"zero workers means one", []string{"a>b"}, nil, 0, "a:ok b:ok", "a b"},
		{"cycle never deadlocks", []string{"a>b", "b>c", "c>b", "c>d", "e"}, nil, 2,
			"a:ok b:skipped(cycle: b -> c -> b) c:skipped(cycle: b -> c -> b) d:skipped(cycle: b -> c -> b) e:ok", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := build(tc.graph...)
			r := &recorder{g: g, fail: map[string]bool{}, ok: map[string]bool{}}
			for _, f := range tc.fail {
				r.fail[f] = true
			}
			res := g.Walk(context.Background(), tc.workers, r.fn)
			if len(res) != g.Len() {
				t.Fatalf("%d results for %d nodes", len(res), g.Len())
			}
			if got := summarize(res); got != tc.want {
				t.Errorf("results:\n got %s\nwant %s", got, tc.want)
			}
			if len(r.bad) > 0 {
				t.Errorf("%v", r.bad)
			}
			if tc.order != "" {
				if got := strings.Join(r.started, " "); got != tc.order {
					t.Errorf("start order = %q, want %q", got, tc.order)
				}
			}
		})
	}
}

func TestWalkErrorKept(t *testing.T) {
	g := build("a>b")
	res := g.Walk(context.Background(), 2, func(_ context.Context, id string) error {
		if id == "a" {
			return fmt.Errorf("bad %s", id)
		}
		return nil
	})
	if res["a"].Err == nil || res["a"].Err.Error() != "bad a" || res["a"].Skipped {
		t.Fatalf("a = %+v", res["a"])
	}
	if !res["b"].Skipped || res["b"].SkippedBy != "a" || res["b"].Err != nil {
		t.Fatalf("b = %+v", res["b"])
	}
}

func TestWalkPanicIsError(t *testing.T) {
	g := build("a>b", "c")
	res := g.Walk(context.Background(), 2, func(_ context.Context, id string) error {
		if id == "a" {
			panic("kaboom")
		}
		return nil
	})
	if res["a"].Err == nil || !strings.Contains(res["a"].Err.Error(), "panic in a: kaboom") {
		t.Fatalf("a = %+v", res["a"])
	}
	if res["b"].SkippedBy != "a" || res["c"].Err != nil || res["c"].Skipped {
		t.Fatalf("b = %+v c = %+v", res["b"], res["c"])
	}
}

func TestWalkCancel(t *testing.T) {
	// a -> b -> c and independent d..h; cancel while b runs.
	g := build("a>b", "b>c", "d", "e", "f", "g", "h")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := g.Walk(ctx, 1, func(ctx context.Context, id string) error {
		if id == "b" {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	want := "a:ok b:error c:skipped-by-b d:cancelled e:cancelled f:cancelled g:cancelled h:cancelled"
	if got := summarize(res); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if !errors.Is(res["d"].Err, context.Canceled) || !res["d"].Skipped {
		t.Fatalf("d = %+v", res["d"])
	}
}

func TestWalkAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var calls atomic.Int32
	res := build("a>b", "c").Walk(ctx, 4, func(context.Context, string) error { calls.Add(1); return nil })
	if calls.Load() != 0 {
		t.Fatalf("fn called %d times after cancel", calls.Load())
	}
	if got := summarize(res); got != "a:cancelled b:cancelled c:cancelled" {
		t.Fatal(got)
	}
}

func TestWalkParallelism(t *testing.T) {
	// Eight independent nodes on four workers: at most four run at once, and
	// more than one does.
	g := build("a", "b", "c", "d", "e", "f", "g", "h")
	var cur, peak atomic.Int32
	g.Walk(context.Background(), 4, func(context.Context, string) error {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
		return nil
	})
	if p := peak.Load(); p < 2 || p > 4 {
		t.Fatalf("peak concurrency %d, want 2..4", p)
	}
}

func TestWalkLargeRandomFailures(t *testing.T) {
	g := chain(3000)
	fail := map[string]bool{}
	for i, id := range g.Nodes() {
		if i%97 == 5 {
			fail[id] = true
		}
	}
	r := &recorder{g: g, fail: fail, ok: map[string]bool{}}
	res := g.Walk(context.Background(), 8, r.fn)
	if len(r.bad) > 0 {
		t.Fatal(r.bad[0])
	}
	for id, wr := range res {
		ranIt := !wr.Skipped
		anyFailedAnc := false
		for _, a := range g.Ancestors(id, -1) {
			if res[a].Err != nil && !res[a].Skipped {
				anyFailedAnc = true
			}
		}
		if ranIt == anyFailedAnc {
			t.Fatalf("%s: ran=%v but failed ancestor=%v", id, ranIt, anyFailedAnc)
		}
		if wr.Skipped && res[wr.SkippedBy].Err == nil {
			t.Fatalf("%s skipped by %s which did not fail", id, wr.SkippedBy)
		}
	}
}

func BenchmarkWalk10kNoop(b *testing.B) {
	g := chain(10_000)
	noop := func(context.Context, string) error { return nil }
	for b.Loop() {
		g.Walk(context.Background(), 4, noop)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/node")
}

func BenchmarkWalk10kWide(b *testing.B) {
	g := New()
	for i := range 10_000 {
		g.AddEdge("root", fmt.Sprintf("n%05d", i))
	}
	noop := func(context.Context, string) error { return nil }
	for b.Loop() {
		g.Walk(context.Background(), 4, noop)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/node")
}

func TestWalkCancelLarge(t *testing.T) {
	g := chain(3000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	res := g.Walk(ctx, 8, func(context.Context, string) error {
		if calls.Add(1) == 100 {
			cancel()
		}
		return nil
	})
	ran, cancelled := 0, 0
	for _, r := range res {
		switch {
		case r.Cancelled:
			cancelled++
		case !r.Skipped && r.Err == nil:
			ran++
		default:
			t.Fatalf("unexpected result %+v", r)
		}
	}
	if len(res) != g.Len() || ran != int(calls.Load()) || cancelled == 0 || ran < 100 || ran > 100+8 {
		t.Fatalf("results %d, ran %d, calls %d, cancelled %d", len(res), ran, calls.Load(), cancelled)
	}
}

package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

// profiler takes the column profiles of built tables that no drift test
// watches, right after each table's build committed, on one background
// connection: a profile is a scan and an append to column_profiles (2–5 ms
// on a small table, mostly DuckDB's fixed cost per statement and per
// append), and off the critical path it no longer delays the nodes that
// read the table. The profiles queued while one batch is taken are taken
// next and stored with one INSERT.
//
// Invariants: a job is queued only after its node's COMMIT succeeded, and
// within a run nothing else writes that table (a run whose nodes have
// hooks, which may write any table, gets no profiler: see anyHooks), so
// the profile describes the table this run published. A profile that fails is a warning, never a
// node failure (one cancelled with the run is not reported); a crash
// before its INSERT commits loses only those profiles, never leaves a
// wrong one (the drift tests' profiles are taken inside the build's
// transaction, see run.audit). Wait returns once every queued job ended.
type profiler struct {
	db    *warehouse.DB
	runID string
	jobs  chan profileJob
	wg    sync.WaitGroup

	mu       sync.Mutex
	warnings []string
}

type profileJob struct {
	n      *manifest.Node
	target string
}

// maxProfileBatch bounds the profiles stored by one INSERT.
const maxProfileBatch = 256

// newProfiler starts a profiler with one worker; capacity bounds the jobs
// queued at once (one per node of the run is enough never to block).
func newProfiler(ctx context.Context, db *warehouse.DB, runID string, capacity int) *profiler {
	p := &profiler{db: db, runID: runID, jobs: make(chan profileJob, max(capacity, 1))}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for j := range p.jobs {
			batch := []profileJob{j}
		more:
			for len(batch) < maxProfileBatch {
				select {
				case k, ok := <-p.jobs:
					if !ok {
						break more
					}
					batch = append(batch, k)
				default:
					break more
				}
			}
			p.profile(ctx, batch)
		}
	}()
	return p
}

// add queues the profile of target, n's table just committed.
func (p *profiler) add(n *manifest.Node, target string) {
	p.jobs <- profileJob{n: n, target: target}
}

// Wait ends the queue and waits for the queued profiles; it returns the
// warnings of those that failed. Call it once.
func (p *profiler) Wait() []string {
	close(p.jobs)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.warnings
}

func (p *profiler) warn(jobs []profileJob, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, j := range jobs {
		p.warnings = append(p.warnings, fmt.Sprintf("column profile of %s not stored: %v", j.n.ID, err))
	}
}

// profile takes batch's profiles, each query on its own (a failure loses
// only its own profile), and stores them with one INSERT.
func (p *profiler) profile(ctx context.Context, batch []profileJob) {
	if ctx.Err() != nil {
		return
	}
	c, err := p.db.Conn(ctx)
	if err != nil {
		p.warn(batch, err)
		return
	}
	defer c.Close()
	var sets []state.NodeProfiles
	var stored []profileJob
	for _, j := range batch {
		cols, err := profile(ctx, c, j.n, j.target, false) // no drift test reads them
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			p.warn([]profileJob{j}, err)
			continue
		}
		sets = append(sets, state.NodeProfiles{NodeID: string(j.n.ID), At: time.Now(), Columns: cols})
		stored = append(stored, j)
	}
	if q := state.InsertNodeProfilesSQL(p.runID, sets); q != "" {
		if err := c.Exec(ctx, q); err != nil && ctx.Err() == nil {
			p.warn(stored, err)
		}
	}
}

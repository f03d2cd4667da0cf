package schedule

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/elt-dev/elt/state"
)

// Store is where the scheduler reads and writes the run history; cmd backs
// it with elt_state of the target database, opened only for each call so
// the scheduler never holds the database between runs.
type Store interface {
	// JobRuns returns every recorded run of job, oldest slot first.
	JobRuns(ctx context.Context, job string) ([]state.RunRecord, error)
	// Record writes one finished run.
	Record(ctx context.Context, r state.RunRecord) error
	// PreviousStatus returns the status of job's latest finished run that
	// started before t, "" when there is none.
	PreviousStatus(ctx context.Context, job string, t time.Time) (string, error)
}

// Request is one run of a job's slot handed to a RunFunc.
type Request struct {
	Job     *Job
	Slot    Slot
	Vars    map[string]any // the job's vars under the slot's own
	Attempt int            // 1 for the first run of the slot in this pass
	RunID   string         // the invocation id the run must use
}

// FailedNode is a node that ended in error or fail.
type FailedNode struct {
	Node     string        `json:"node"`
	Status   string        `json:"status"`
	Message  string        `json:"message"`
	Duration time.Duration `json:"-"`
}

// Outcome is what a run ended with. Status is one of state.Success,
// state.Warn, state.Error and state.Cancelled; Error is the first error
// (a failed node's message, or why the command failed before any node).
type Outcome struct {
	Status     string
	Started    time.Time
	Completed  time.Time
	NodesTotal int
	Failed     []FailedNode
	Error      string
}

// RunFunc runs req's job command with req's vars and run id, and reports
// how it ended. It must return when ctx is cancelled, with Status
// state.Cancelled.
type RunFunc func(ctx context.Context, req Request) Outcome

// EventKind says what a scheduler Event reports.
type EventKind int

// The scheduler's event kinds.
const (
	SlotStart  EventKind = iota // a run of Slot starts (Attempt of Attempts)
	SlotEnd                     // a run of Slot ended with Outcome
	SlotRetry                   // Slot failed; the next attempt starts after Wait
	Skipped                     // catchup: false passed over Count missed slots up to Slot
	Superseded                  // catchup: false: failed Slot is superseded by a later slot
	Blocked                     // Slot waits: an earlier slot of the job failed in this pass
	Idle                        // the daemon sleeps until Next
	AlertError                  // an alert could not be delivered (Err)
)

// Event is a progress report of the scheduler, for the command line.
type Event struct {
	Kind     EventKind
	Job      *Job
	Slot     Slot
	RunID    string
	Attempt  int
	Attempts int
	Outcome  *Outcome
	Wait     time.Duration
	Count    int
	Next     time.Time
	Err      error
}

// Scheduler decides which slots are due and runs them one at a time.
type Scheduler struct {
	Project string
	Jobs    []*Job
	Store   Store
	Run     RunFunc
	// Notify sends alerts for one event of a finished slot; nil sends none.
	Notify func(ctx context.Context, p Payload)
	// Log receives progress events; nil drops them.
	Log func(Event)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Sleep waits d or until ctx is done (a timer when nil).
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxDue bounds the slots one job may have due (DefaultMaxDue when 0).
	MaxDue int
}

// DefaultMaxDue is the most slots a job may have due at once: beyond it
// the start_date is surely a mistake (a minutely job from years ago).
const DefaultMaxDue = 10000

// Summary counts what a pass ran.
type Summary struct {
	Ran    int // slots run to an end (success, warn or failure)
	Failed int // slots that failed after their retries
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Scheduler) log(e Event) {
	if s.Log != nil {
		s.Log(e)
	}
}

func (s *Scheduler) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Due returns the slots of j due at now, oldest first. With catchup every
// slot since the start (start_date, else the job's first recorded slot)
// that has no successful run is due; without it only the latest slot, when
// it has none. A slot that failed or was cancelled stays due until a run
// succeeds. Passed-over and superseded slots are reported through Log.
func (s *Scheduler) Due(ctx context.Context, j *Job, now time.Time) ([]Slot, error) {
	runs, err := s.Store.JobRuns(ctx, j.Name)
	if err != nil {
		return nil, err
	}
	done := map[int64]bool{}
	var first, last, lastDone time.Time
	for _, r := range runs {
		if r.SlotEnd.IsZero() {
			continue
		}
		if first.IsZero() || r.SlotEnd.Before(first) {
			first = r.SlotEnd
		}
		if r.SlotEnd.After(last) {
			last = r.SlotEnd
		}
		if r.Status == state.Success || r.Status == state.Warn {
			done[r.SlotEnd.Unix()] = true
			if r.SlotEnd.After(lastDone) {
				lastDone = r.SlotEnd
			}
		}
	}
	latest := j.Prev(now)
	if latest.IsZero() || (!j.Start.IsZero() && latest.Before(j.First().End)) {
		return nil, nil
	}
	if !j.Catchup {
		slot := j.SlotEnding(latest)
		for _, r := range runs {
			if r.SlotEnd.After(lastDone) && r.SlotEnd.Before(latest) && !done[r.SlotEnd.Unix()] &&
				(r.Status == state.Error || r.Status == state.Cancelled) {
				s.log(Event{Kind: Superseded, Job: j, Slot: j.SlotEnding(r.SlotEnd), RunID: r.RunID})
				done[r.SlotEnd.Unix()] = true // report each once
			}
		}
		if done[latest.Unix()] {
			return nil, nil
		}
		if !last.IsZero() && last.Before(latest) {
			n := 0
			for t := j.Next(last); !t.IsZero() && t.Before(latest) && n <= s.maxDue(); t = j.Next(t) {
				n++
			}
			if n > 0 {
				s.log(Event{Kind: Skipped, Job: j, Slot: slot, Count: n})
			}
		}
		return []Slot{slot}, nil
	}
	var cur Slot
	switch {
	case !j.Start.IsZero():
		cur = j.First()
	case !first.IsZero():
		cur = j.SlotEnding(first)
	default:
		return []Slot{j.SlotEnding(latest)}, nil
	}
	var due []Slot
	for !cur.End.IsZero() && !cur.End.After(now) {
		if !done[cur.End.Unix()] {
			if len(due) == s.maxDue() {
				return nil, fmt.Errorf("job %q has more than %d slots due since %s — set a later start_date, or catchup: false", j.Name, s.maxDue(), cur.Start.Format(time.RFC3339))
			}
			due = append(due, cur)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cur = j.After(cur)
	}
	return due, nil
}

func (s *Scheduler) maxDue() int {
	if s.MaxDue > 0 {
		return s.MaxDue
	}
	return DefaultMaxDue
}

// pending is a due slot of a job.
type pending struct {
	job  *Job
	slot Slot
}

// Once runs every slot due at now, oldest first across jobs (ties by job
// name), one at a time. A slot that still fails after its retries stops
// the later slots of its job for this pass (they stay due); the other jobs
// go on. It returns ctx's error when cancelled.
func (s *Scheduler) Once(ctx context.Context, now time.Time) (Summary, error) {
	return s.pass(ctx, now, nil)
}

func (s *Scheduler) pass(ctx context.Context, now time.Time, held map[string]time.Time) (Summary, error) {
	var sum Summary
	var all []pending
	for _, j := range s.Jobs {
		if until, ok := held[j.Name]; ok && now.Before(until) {
			continue
		}
		due, err := s.Due(ctx, j, now)
		if err != nil {
			return sum, err
		}
		for _, sl := range due {
			all = append(all, pending{j, sl})
		}
	}
	sort.SliceStable(all, func(a, b int) bool {
		if !all[a].slot.End.Equal(all[b].slot.End) {
			return all[a].slot.End.Before(all[b].slot.End)
		}
		return all[a].job.Name < all[b].job.Name
	})
	failed := map[string]bool{}
	for _, p := range all {
		if failed[p.job.Name] {
			s.log(Event{Kind: Blocked, Job: p.job, Slot: p.slot})
			continue
		}
		out := s.runSlot(ctx, p.job, p.slot)
		if ctx.Err() != nil || out.Status == state.Cancelled {
			return sum, context.Canceled
		}
		sum.Ran++
		if out.Status == state.Error {
			sum.Failed++
			failed[p.job.Name] = true
			if held != nil {
				held[p.job.Name] = p.job.Next(s.now())
			}
		}
	}
	return sum, nil
}

// Daemon runs due slots as time passes until ctx is cancelled. A slot
// that failed after its retries is tried again at its job's next slot
// time, before that slot. Daemon returns nil when stopped while idle, and
// ctx's error when a run was interrupted.
func (s *Scheduler) Daemon(ctx context.Context) error {
	held := map[string]time.Time{}
	for {
		if _, err := s.pass(ctx, s.now(), held); err != nil {
			return err
		}
		now := s.now()
		var next time.Time
		for _, j := range s.Jobs {
			if t := j.Next(now); !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if next.IsZero() {
			return errors.New("no job has a future slot")
		}
		s.log(Event{Kind: Idle, Next: next})
		for now = s.now(); now.Before(next); now = s.now() {
			// Sleep in steps so a changed wall clock (suspend) is noticed.
			if err := s.sleep(ctx, min(next.Sub(now), time.Minute)); err != nil {
				return nil
			}
		}
	}
}

// runSlot runs one slot with its retries, records every attempt and sends
// the alerts of the final outcome.
func (s *Scheduler) runSlot(ctx context.Context, j *Job, slot Slot) Outcome {
	vars := j.SlotVars(slot)
	// The previous status decides the alerts (a recovery follows a
	// failure): read only when there are alerts to send.
	var prev string
	if s.Notify != nil {
		var err error
		prev, err = s.Store.PreviousStatus(ctx, j.Name, time.Now()) // records hold real start times, even under --now
		if err != nil {
			s.log(Event{Kind: AlertError, Job: j, Slot: slot, Err: err})
		}
	}
	attempts := 1 + j.Retries
	var out Outcome
	var runID string
	for attempt := 1; attempt <= attempts; attempt++ {
		runID = NewRunID()
		s.log(Event{Kind: SlotStart, Job: j, Slot: slot, RunID: runID, Attempt: attempt, Attempts: attempts})
		out = s.Run(ctx, Request{Job: j, Slot: slot, Vars: vars, Attempt: attempt, RunID: runID})
		if ctx.Err() != nil {
			out.Status = state.Cancelled
		}
		rec := Record(j, slot, vars, attempt, runID, out)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if err := s.Store.Record(rctx, rec); err != nil {
			s.log(Event{Kind: AlertError, Job: j, Slot: slot, Err: fmt.Errorf("record run %s: %w", runID, err)})
		}
		cancel()
		s.log(Event{Kind: SlotEnd, Job: j, Slot: slot, RunID: runID, Attempt: attempt, Attempts: attempts, Outcome: &out})
		if out.Status != state.Error || attempt == attempts {
			break
		}
		wait := Backoff(j.RetryDelay, attempt)
		s.log(Event{Kind: SlotRetry, Job: j, Slot: slot, RunID: runID, Attempt: attempt, Attempts: attempts, Wait: wait})
		if err := s.sleep(ctx, wait); err != nil {
			out.Status = state.Cancelled
			return out
		}
	}
	if s.Notify != nil && out.Status != state.Cancelled {
		for _, ev := range AlertEvents(out.Status, prev) {
			p := NewPayload(ev, s.Project, runID, Record(j, slot, vars, attempts, runID, out), out)
			s.Notify(context.WithoutCancel(ctx), p)
		}
	}
	return out
}

// Backoff is the wait after failed attempt n (1-based): delay doubled
// n-1 times, at most MaxRetryDelay.
func Backoff(delay time.Duration, n int) time.Duration {
	d := delay
	for i := 1; i < n && d < MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, MaxRetryDelay)
}

// Record is the history record of one attempt of slot.
func Record(j *Job, slot Slot, vars map[string]any, attempt int, runID string, out Outcome) state.RunRecord {
	rec := state.RunRecord{
		RunID: runID, Job: j.Name, Trigger: state.Scheduled, Command: j.Command,
		SlotStart: slot.Start, SlotEnd: slot.End, Attempt: attempt, Vars: vars,
		Status: out.Status, Started: out.Started, Completed: out.Completed,
		NodesTotal: out.NodesTotal, FirstError: out.Error,
	}
	for _, f := range out.Failed {
		rec.NodesFailed = append(rec.NodesFailed, f.Node)
	}
	if rec.Started.IsZero() {
		rec.Started = time.Now()
	}
	if rec.Completed.IsZero() {
		rec.Completed = rec.Started
	}
	return rec
}

// AlertEvents returns the alert events of a finished run with status,
// given the status of the previous finished run of the same job (or
// manual command): failure for an error, warn for a warning, and recovery
// for a success or warning after an error.
func AlertEvents(status, previous string) []string {
	var out []string
	switch status {
	case state.Error:
		out = append(out, "failure")
	case state.Warn:
		out = append(out, "warn")
	}
	if (status == state.Success || status == state.Warn) && previous == state.Error {
		out = append(out, "recovery")
	}
	return out
}

// NewRunID returns a random UUID (version 4).
func NewRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

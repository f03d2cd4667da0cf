package schedule

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/state"
)

// memStore keeps the run history in memory with the same semantics as
// elt_state (see state.JobRuns, state.PreviousStatus); cmd's tests cover
// the DuckDB-backed store end to end.
type memStore struct {
	mu   sync.Mutex
	recs []state.RunRecord
	// previousReads counts PreviousStatus calls.
	previousReads int
}

func (m *memStore) JobRuns(_ context.Context, job string) ([]state.RunRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []state.RunRecord
	for _, r := range m.recs {
		if r.Job == job {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SlotEnd.Before(out[j].SlotEnd) })
	return out, nil
}

func (m *memStore) Record(_ context.Context, r state.RunRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, r)
	return nil
}

func (m *memStore) PreviousStatus(_ context.Context, job string, t time.Time) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.previousReads++
	for i := len(m.recs) - 1; i >= 0; i-- {
		if r := m.recs[i]; r.Job == job && r.Status != state.Cancelled {
			return r.Status, nil
		}
	}
	return "", nil
}

// harness is a scheduler whose runs are scripted: fail[job@run_date] is the
// number of attempts of that slot that fail before one succeeds.
type harness struct {
	*Scheduler
	store  *memStore
	ran    []string // job@run_date#attempt
	fail   map[string]int
	sleeps []time.Duration
	alerts []string // event job@run_date status
}

func newHarness(t *testing.T, jobs ...project.Job) *harness {
	t.Helper()
	h := &harness{store: &memStore{}, fail: map[string]int{}}
	var compiled []*Job
	for _, pj := range jobs {
		compiled = append(compiled, mustJob(t, pj))
	}
	h.Scheduler = &Scheduler{
		Project: "p", Jobs: compiled, Store: h.store,
		Run: func(ctx context.Context, req Request) Outcome {
			key := req.Job.Name + "@" + req.Vars["run_date"].(string)
			h.ran = append(h.ran, fmt.Sprintf("%s#%d", key, req.Attempt))
			out := Outcome{Status: state.Success, Started: time.Now(), Completed: time.Now(), NodesTotal: 2}
			if h.fail[key] > 0 {
				h.fail[key]--
				out.Status = state.Error
				out.Failed = []FailedNode{{Node: "model.b", Status: "error", Message: "boom"}}
				out.Error = "boom"
			}
			return out
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.sleeps = append(h.sleeps, d)
			return ctx.Err()
		},
		Notify: func(ctx context.Context, p Payload) {
			h.alerts = append(h.alerts, p.Event+" "+p.Job+"@"+p.RunDate+" "+p.Status)
		},
	}
	return h
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestCatchupOrder runs the missed slots of two jobs oldest first (ties by
// job name), and a second pass at the same time runs nothing.
func TestCatchupOrder(t *testing.T) {
	h := newHarness(t,
		project.Job{Name: "daily", Schedule: "0 2 * * *", StartDate: "2025-01-30", Catchup: true},
		project.Job{Name: "a_monthly", Schedule: "0 2 1 * *", StartDate: "2025-01-01", Catchup: true},
	)
	now := at("2025-02-02T12:00:00Z")
	sum, err := h.Once(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	// Slots end at 01-31, 02-01 (a tie: a_monthly first), 02-01 and 02-02.
	want := []string{"daily@2025-01-30#1", "a_monthly@2025-01-01#1", "daily@2025-01-31#1", "daily@2025-02-01#1"}
	if !reflect.DeepEqual(h.ran, want) {
		t.Errorf("ran %v, want %v", h.ran, want)
	}
	if sum.Ran != 4 || sum.Failed != 0 {
		t.Errorf("summary %+v", sum)
	}
	h.ran = nil
	if sum, err := h.Once(context.Background(), now); err != nil || sum.Ran != 0 || len(h.ran) != 0 {
		t.Errorf("second pass ran %v (%+v, %v), want nothing", h.ran, sum, err)
	}
	// A day later exactly one new slot is due.
	if _, err := h.Once(context.Background(), now.Add(24*time.Hour)); err != nil || !reflect.DeepEqual(h.ran, []string{"daily@2025-02-02#1"}) {
		t.Errorf("next day ran %v, %v", h.ran, err)
	}
}

// TestNoCatchup runs only the latest slot and reports the missed ones.
func TestNoCatchup(t *testing.T) {
	h := newHarness(t, project.Job{Name: "daily", Schedule: "0 2 * * *", StartDate: "2025-01-01"})
	var skipped []string
	h.Log = func(e Event) {
		if e.Kind == Skipped || e.Kind == Superseded {
			skipped = append(skipped, fmt.Sprintf("%d %d %s", e.Kind, e.Count, e.Slot.RunDate()))
		}
	}
	if _, err := h.Once(context.Background(), at("2025-01-10T03:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Once(context.Background(), at("2025-01-14T03:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"daily@2025-01-09#1", "daily@2025-01-13#1"}; !reflect.DeepEqual(h.ran, want) {
		t.Errorf("ran %v, want %v", h.ran, want)
	}
	if want := []string{fmt.Sprintf("%d 3 2025-01-13", Skipped)}; !reflect.DeepEqual(skipped, want) {
		t.Errorf("skipped %v, want %v", skipped, want)
	}
	// Without start_date and history, only the latest slot runs.
	h2 := newHarness(t, project.Job{Name: "hourly", Schedule: "0 * * * *", Catchup: true})
	if _, err := h2.Once(context.Background(), at("2025-01-10T03:30:00Z")); err != nil || !reflect.DeepEqual(h2.ran, []string{"hourly@2025-01-10#1"}) {
		t.Errorf("hourly ran %v, %v", h2.ran, err)
	}
	h2.ran = nil
	if _, err := h2.Once(context.Background(), at("2025-01-10T06:30:00Z")); err != nil || len(h2.ran) != 3 {
		t.Errorf("hourly catch-up from its first recorded slot ran %v, %v", h2.ran, err)
	}
}

// TestRetriesThenReported retries a failing slot with backoff, reports it,
// holds the job's later slots, alerts on failure, and the next pass starts
// again at the failed slot (never silently skipping it) and alerts the
// recovery.
func TestRetriesThenReported(t *testing.T) {
	h := newHarness(t, project.Job{Name: "daily", Schedule: "0 0 * * *", StartDate: "2025-03-01", Catchup: true,
		Retries: 2, RetryDelay: "10s"})
	h.fail["daily@2025-03-02"] = 4
	var blocked int
	h.Log = func(e Event) {
		if e.Kind == Blocked {
			blocked++
		}
	}
	now := at("2025-03-04T01:00:00Z")
	sum, err := h.Once(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"daily@2025-03-01#1", "daily@2025-03-02#1", "daily@2025-03-02#2", "daily@2025-03-02#3"}
	if !reflect.DeepEqual(h.ran, want) || sum.Failed != 1 || blocked != 1 {
		t.Errorf("ran %v, summary %+v, blocked %d", h.ran, sum, blocked)
	}
	if want := []time.Duration{10 * time.Second, 20 * time.Second}; !reflect.DeepEqual(h.sleeps, want) {
		t.Errorf("backoff %v, want %v", h.sleeps, want)
	}
	if want := []string{"failure daily@2025-03-02 error"}; !reflect.DeepEqual(h.alerts, want) {
		t.Errorf("alerts %v, want %v", h.alerts, want)
	}
	h.ran, h.alerts = nil, nil
	if _, err := h.Once(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	want = []string{"daily@2025-03-02#1", "daily@2025-03-02#2", "daily@2025-03-03#1"}
	if !reflect.DeepEqual(h.ran, want) {
		t.Errorf("second pass ran %v, want %v", h.ran, want)
	}
	if want := []string{"recovery daily@2025-03-02 success"}; !reflect.DeepEqual(h.alerts, want) {
		t.Errorf("alerts %v, want %v", h.alerts, want)
	}
	// The history has every attempt, in order.
	var statuses []string
	for _, r := range h.store.recs {
		statuses = append(statuses, fmt.Sprintf("%s#%d:%s", r.SlotStart.Format("01-02"), r.Attempt, r.Status))
	}
	if got := strings.Join(statuses, " "); got != "03-01#1:success 03-02#1:error 03-02#2:error 03-02#3:error 03-02#1:error 03-02#2:success 03-03#1:success" {
		t.Errorf("history %s", got)
	}
}

// TestCancelledSlotStaysDue stops the pass at a cancelled run; the slot is
// due again in the next pass.
func TestCancelledSlotStaysDue(t *testing.T) {
	h := newHarness(t, project.Job{Name: "daily", Schedule: "0 0 * * *", StartDate: "2025-03-01", Catchup: true})
	ctx, cancel := context.WithCancel(context.Background())
	run := h.Run
	h.Run = func(c context.Context, req Request) Outcome {
		if req.Vars["run_date"] == "2025-03-02" {
			cancel()
			return Outcome{Status: state.Cancelled}
		}
		return run(c, req)
	}
	if _, err := h.Once(ctx, at("2025-03-04T01:00:00Z")); err != context.Canceled {
		t.Fatalf("Once = %v, want context.Canceled", err)
	}
	h.Run = run
	h.ran = nil
	if _, err := h.Once(context.Background(), at("2025-03-04T01:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"daily@2025-03-02#1", "daily@2025-03-03#1"}; !reflect.DeepEqual(h.ran, want) {
		t.Errorf("after cancel ran %v, want %v", h.ran, want)
	}
}

// TestDaemon drives the daemon with a clock that sleeping advances: it
// runs each slot as it comes, and stops cleanly when cancelled while idle.
func TestDaemon(t *testing.T) {
	h := newHarness(t, project.Job{Name: "hourly", Schedule: "0 * * * *", Catchup: true})
	clock := at("2025-05-01T10:30:00Z")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.Now = func() time.Time { return clock }
	h.Sleep = func(ctx context.Context, d time.Duration) error {
		if len(h.ran) >= 4 {
			cancel()
			return ctx.Err()
		}
		clock = clock.Add(d)
		return nil
	}
	if err := h.Daemon(ctx); err != nil {
		t.Fatalf("Daemon = %v, want nil after a stop while idle", err)
	}
	want := []string{"hourly@2025-05-01#1", "hourly@2025-05-01#1", "hourly@2025-05-01#1", "hourly@2025-05-01#1"}
	if !reflect.DeepEqual(h.ran, want) {
		t.Errorf("ran %v", h.ran)
	}
	var ends []string
	for _, r := range h.store.recs {
		ends = append(ends, r.SlotEnd.Format("15:04"))
	}
	if got := strings.Join(ends, " "); got != "10:00 11:00 12:00 13:00" {
		t.Errorf("slots %s", got)
	}
}

func TestTooManyDue(t *testing.T) {
	h := newHarness(t, project.Job{Name: "minutely", Schedule: "* * * * *", StartDate: "2020-01-01", Catchup: true})
	_, err := h.Once(context.Background(), at("2025-01-01T00:00:00Z"))
	if err == nil || !strings.Contains(err.Error(), "more than 10000 slots due") {
		t.Errorf("err %v", err)
	}
}

// TestPreviousStatusOnlyForAlerts: the previous run's status, a scan of
// the history, is read for each slot only when there are alerts to send.
func TestPreviousStatusOnlyForAlerts(t *testing.T) {
	job := project.Job{Name: "daily", Schedule: "0 2 * * *", StartDate: "2025-01-30", Catchup: true}
	now := at("2025-02-02T12:00:00Z")
	h := newHarness(t, job)
	h.Notify = nil
	if sum, err := h.Once(context.Background(), now); err != nil || sum.Ran != 3 {
		t.Fatalf("without alerts: %+v, %v", sum, err)
	}
	if h.store.previousReads != 0 {
		t.Errorf("without alerts the previous status was read %d times", h.store.previousReads)
	}
	h = newHarness(t, job)
	if sum, err := h.Once(context.Background(), now); err != nil || sum.Ran != 3 {
		t.Fatalf("with alerts: %+v, %v", sum, err)
	}
	if h.store.previousReads != 3 {
		t.Errorf("with alerts the previous status was read %d times, want once a slot", h.store.previousReads)
	}
}

package state_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/elt-dev/elt/state"
)

// TestRunHistory records scheduled and manual runs and reads them back:
// per job in slot order, the previous finished status (cancelled runs
// passed over), and the whole history newest first including an
// invocation the runner started but nobody finished.
func TestRunHistory(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if runs, err := state.JobRuns(ctx, c, "daily"); err != nil || runs != nil {
		t.Fatalf("JobRuns on an empty database = %v, %v", runs, err)
	}
	t0 := time.Date(2025, 1, 2, 2, 0, 0, 0, time.UTC)
	paris, _ := time.LoadLocation("Europe/Paris")
	rec := func(id, job, status string, slot time.Time, started time.Time, failed ...string) state.RunRecord {
		r := state.RunRecord{RunID: id, Job: job, Trigger: state.Scheduled, Command: "build -s tag:daily",
			Attempt: 1, Status: status, Started: started, Completed: started.Add(time.Second),
			NodesTotal: 3, NodesFailed: failed, Vars: map[string]any{"run_date": slot.Format("2006-01-02")}}
		if job == "" {
			r.Trigger = state.Manual
		} else {
			r.SlotStart, r.SlotEnd = slot.Add(-24*time.Hour).In(paris), slot.In(paris)
		}
		if len(failed) > 0 {
			r.FirstError = "boom in " + failed[0]
		}
		return r
	}
	records := []state.RunRecord{
		rec("r2", "daily", state.Error, t0.Add(24*time.Hour), t0.Add(time.Hour), "model.b"),
		rec("r1", "daily", state.Success, t0, t0),
		rec("r3", "daily", state.Cancelled, t0.Add(24*time.Hour), t0.Add(2*time.Hour)),
		rec("m1", "", state.Success, time.Time{}, t0.Add(3*time.Hour)),
		rec("r4", "daily", state.Success, t0.Add(24*time.Hour), t0.Add(4*time.Hour)),
	}
	for _, r := range records {
		if err := state.RecordRun(ctx, c, r); err != nil {
			t.Fatal(err)
		}
	}
	// Recording again replaces, also with a later start (a run that
	// never started is recorded with the time of its record).
	if err := state.RecordRun(ctx, c, records[0]); err != nil {
		t.Fatal(err)
	}
	again := records[0]
	again.Started = again.Started.Add(time.Hour)
	if err := state.RecordRun(ctx, c, again); err != nil {
		t.Fatal(err)
	}
	if err := state.RecordRun(ctx, c, records[0]); err != nil {
		t.Fatal(err)
	}
	runs, err := state.JobRuns(ctx, c, "daily")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.RunID)
	}
	if want := []string{"r1", "r2", "r3", "r4"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("JobRuns order %v, want %v", ids, want)
	}
	r2 := runs[1]
	if !r2.SlotEnd.Equal(t0.Add(24*time.Hour)) || r2.FirstError != "boom in model.b" ||
		!reflect.DeepEqual(r2.NodesFailed, []string{"model.b"}) || r2.Vars["run_date"] != "2025-01-03" {
		t.Errorf("r2 read back as %+v", r2)
	}

	for _, tc := range []struct {
		job     string
		started time.Time
		want    string
	}{
		{"daily", t0.Add(4 * time.Hour), state.Error}, // r3 cancelled is passed over
		{"daily", t0.Add(time.Hour), state.Success},
		{"daily", t0, ""},
		{"", t0.Add(5 * time.Hour), state.Success},
		{"weekly", t0.Add(5 * time.Hour), ""},
	} {
		got, err := state.PreviousStatus(ctx, c, tc.job, "build -s tag:daily", tc.started)
		if err != nil || got != tc.want {
			t.Errorf("PreviousStatus(%q, %v) = %q, %v; want %q", tc.job, tc.started, got, err, tc.want)
		}
	}

	// An invocation without a history row shows with its own status.
	if err := state.StartInvocation(ctx, c, state.Invocation{RunID: "crashed", Command: "run", Selector: "tag:x",
		Started: t0.Add(5 * time.Hour), Status: state.Running}); err != nil {
		t.Fatal(err)
	}
	all, err := state.History(ctx, c, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range all {
		got = append(got, r.RunID+":"+r.Status+":"+r.Command)
	}
	want := []string{"crashed:running:run -s tag:x", "r4:success:build -s tag:daily", "m1:success:build -s tag:daily"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("History = %v, want %v", got, want)
	}
	daily, err := state.History(ctx, c, "daily", 0)
	if err != nil || len(daily) != 4 {
		t.Errorf("History(daily) = %d records, %v", len(daily), err)
	}
}

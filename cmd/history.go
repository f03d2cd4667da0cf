package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/runner"
	"github.com/elt-dev/elt/schedule"
	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

func (a *app) historyCommand() *cobra.Command {
	var job string
	var limit int
	c := &cobra.Command{
		Use:   "history [--job NAME] [--limit N]",
		Short: "Show past runs: status, time, job slot, nodes failed and the first error",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit %d is not valid — use a positive number, or 0 for all", limit)
			}
			return a.history(job, limit)
		},
	}
	c.Flags().StringVar(&job, "job", "", "only the runs of this job")
	c.Flags().IntVar(&limit, "limit", 20, "show at most this many runs, newest first (0: all)")
	return c
}

// history prints the run history of the target database, newest first.
func (a *app) history(job string, limit int) error {
	s, err := a.openProject()
	if err != nil {
		return err
	}
	if job != "" && s.proj.Jobs[job] == nil {
		if names := sortedKeys(s.proj.Jobs); len(names) > 0 {
			a.printer().Errorf("warning: job %q is not in %s (jobs: %s) — showing its recorded runs, if any", job, project.FileName, strings.Join(names, ", "))
		}
	}
	var runs []state.RunRecord
	err = s.withState(false, func(ctx context.Context, db state.DB) error {
		var err error
		runs, err = state.History(ctx, db, job, limit)
		return err
	})
	if err != nil {
		return err
	}
	pr := a.printer()
	if pr.json {
		for _, r := range runs {
			pr.emit(pr.out, "run", historyEvent(r))
		}
		return nil
	}
	if len(runs) == 0 {
		pr.Plain("No runs recorded in " + s.dbPath() + " yet.")
		return nil
	}
	rows := make([][]any, len(runs))
	for i, r := range runs {
		slot := ""
		if !r.SlotEnd.IsZero() {
			slot = r.SlotStart.UTC().Format("2006-01-02 15:04") + " → " + r.SlotEnd.UTC().Format("2006-01-02 15:04")
		}
		jobCell := r.Job
		if jobCell == "" {
			jobCell = "(manual)"
		} else if r.Attempt > 1 {
			jobCell = fmt.Sprintf("%s #%d", r.Job, r.Attempt)
		}
		dur := ""
		if !r.Completed.IsZero() {
			dur = seconds(r.Completed.Sub(r.Started))
		}
		failed := strings.Join(r.NodesFailed, " ")
		rows[i] = []any{r.Started.Local().Format("2006-01-02 15:04:05"), shortID(r.RunID), jobCell, slot, r.Command,
			r.Status, dur, failed, oneLine(r.FirstError, 80)}
	}
	pr.Plain(renderTable([]string{"started", "run", "job", "slot (UTC)", "command", "status", "time", "failed nodes", "first error"}, rows))
	return nil
}

// historyEvent is the JSON form of one run of the history.
func historyEvent(r state.RunRecord) event {
	ev := event{
		"run_id": r.RunID, "trigger": r.Trigger, "command": r.Command, "status": r.Status, "attempt": r.Attempt,
		"started_at": r.Started.UTC().Format(time.RFC3339Nano), "nodes_total": r.NodesTotal,
		"nodes_failed": append([]string{}, r.NodesFailed...), "vars": r.Vars,
	}
	if !r.Completed.IsZero() {
		ev["completed_at"] = r.Completed.UTC().Format(time.RFC3339Nano)
		ev["duration_s"] = r.Completed.Sub(r.Started).Seconds()
	}
	if r.Job != "" {
		ev["job"] = r.Job
		ev["interval_start"] = r.SlotStart.UTC().Format(time.RFC3339)
		ev["interval_end"] = r.SlotEnd.UTC().Format(time.RFC3339)
	}
	if r.FirstError != "" {
		ev["first_error"] = r.FirstError
	}
	return ev
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// oneLine returns the first line of s, cut to n characters.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// openProject loads project.yaml and the properties without compiling the
// models, and resolves the target: enough for commands that only read
// elt_state or the jobs (history, schedule).
func (a *app) openProject() (*session, error) {
	dir := a.opts.ProjectDir
	if _, err := os.Stat(filepath.Join(dir, project.FileName)); err != nil {
		return nil, usagef("%s", initHint(dir))
	}
	proj, diags := project.Load(dir)
	if diags.HasErrors() || proj == nil {
		return nil, diags.Err()
	}
	s := &session{a: a, proj: proj, started: time.Now(), invocationID: a.runID()}
	if err := s.resolveTarget(); err != nil {
		return nil, err
	}
	s.targetDir = filepath.Join(proj.Dir, "target")
	return s, nil
}

// errNoDatabase says the target database file does not exist yet.
var errNoDatabase = errors.New("no database")

// withState opens the target database just for fn and closes it after, so
// that a long-lived command (schedule) never holds the file between runs.
// When create is false and the file does not exist, fn is not called and
// withState returns nil.
func (s *session) withState(create bool, fn func(ctx context.Context, db state.DB) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx()), time.Minute)
	defer cancel()
	if s.db != nil {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		return fn(ctx, c)
	}
	if f := s.dbFile(); f != "" && !create && !exists(f) {
		return nil
	}
	db, err := warehouse.Open(ctx, s.target.Path, s.settings())
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c)
}

// commandLine renders a node-building invocation for the history:
// "build -s tag:daily --exclude x --full-refresh".
func commandLine(verb string, o globalOptions, extra []string) string {
	parts := []string{verb}
	if sel := selectors(o.Select, extra...); len(sel) > 0 {
		parts = append(parts, "-s", strings.Join(sel, " "))
	}
	if ex := selectors(o.Exclude); len(ex) > 0 {
		parts = append(parts, "--exclude", strings.Join(ex, " "))
	}
	if o.FullRefresh {
		parts = append(parts, "--full-refresh")
	}
	return strings.Join(parts, " ")
}

// outcomeOf sums up a run's result for the history and the alerts.
func outcomeOf(res *runner.RunResult, cancelled bool) schedule.Outcome {
	out := schedule.Outcome{Status: state.Success}
	if res == nil {
		out.Status = state.Error
		if cancelled {
			out.Status = state.Cancelled
		}
		return out
	}
	out.Started, out.Completed = res.Started, res.Completed
	if out.Completed.IsZero() {
		out.Completed = time.Now()
	}
	out.NodesTotal = len(res.Nodes)
	warned := false
	for _, n := range res.Nodes {
		switch n.Status {
		case runner.StatusError, runner.StatusFail:
			if cancelled && strings.Contains(n.Message, "cancelled; rolled back") {
				continue // interrupted, not failed
			}
			out.Failed = append(out.Failed, schedule.FailedNode{Node: string(n.NodeID), Status: n.Status, Message: n.Message, Duration: n.Duration})
			if out.Error == "" {
				out.Error = string(n.NodeID) + ": " + n.Message
			}
		case runner.StatusWarn:
			warned = true
		}
	}
	switch {
	case cancelled:
		out.Status = state.Cancelled
	case len(out.Failed) > 0:
		out.Status = state.Error
	case warned:
		out.Status = state.Warn
	}
	return out
}

// afterRun closes a node-building invocation: for a scheduled run it hands
// the outcome to the scheduler, which records it with its job and slot;
// for a manual run it records the run in elt_state.run_history and sends
// the project's alerts. Neither changes the exit status: a problem is a
// warning.
func (a *app) afterRun(s *session, command string, res *runner.RunResult) {
	out := outcomeOf(res, a.ctx.Err() != nil)
	if pr := a.printer(); pr.json {
		failed := []string{}
		for _, f := range out.Failed {
			failed = append(failed, f.Node)
		}
		ev := event{"invocation_id": s.invocationID, "command": command, "status": out.Status,
			"nodes_total": out.NodesTotal, "nodes_failed": failed, "elapsed_s": out.Completed.Sub(out.Started).Seconds()}
		if out.Error != "" {
			ev["first_error"] = out.Error
		}
		pr.emit(pr.out, "run_end", ev)
	}
	if a.sched != nil {
		a.sched.outcome = &out
		return
	}
	rec := state.RunRecord{
		RunID: s.invocationID, Trigger: state.Manual, Command: command, Attempt: 1, Vars: s.vars,
		Status: out.Status, Started: out.Started, Completed: out.Completed, NodesTotal: out.NodesTotal,
		FirstError: out.Error,
	}
	for _, f := range out.Failed {
		rec.NodesFailed = append(rec.NodesFailed, f.Node)
	}
	if rec.Started.IsZero() {
		rec.Started = s.started
	}
	// The previous run's status decides the alerts (a recovery follows a
	// failure); without alerts it is not read, a scan of the history.
	alerting := out.Status != state.Cancelled && len(s.proj.Alerts) > 0
	var prev string
	err := s.withState(true, func(ctx context.Context, db state.DB) error {
		if alerting {
			var err error
			if prev, err = state.PreviousStatus(ctx, db, "", command, rec.Started); err != nil {
				// The run is recorded all the same; the alert goes out
				// as if there were no previous run.
				a.printer().Errorf("warning: could not read the previous run's status for the alerts: %v", err)
			}
		}
		return state.RecordRun(ctx, db, rec)
	})
	if err != nil {
		a.printer().Errorf("warning: could not record the run in the history: %v", err)
	}
	if !alerting {
		return
	}
	n := a.notifier(s)
	for _, ev := range schedule.AlertEvents(out.Status, prev) {
		n.Notify(context.WithoutCancel(a.ctx), schedule.NewPayload(ev, s.proj.Name, rec.RunID, rec, out))
	}
}

// notifier returns the alert sender of the project, reporting delivery
// problems as warnings.
func (a *app) notifier(s *session) *schedule.Notifier {
	pr := a.printer()
	return &schedule.Notifier{
		Alerts: s.proj.Alerts, Dir: s.proj.Dir,
		Warn: func(err error) { pr.Errorf("warning: %v", err) },
		Sent: func(ev, target string) {
			if pr.json {
				pr.emit(pr.out, "alert_sent", event{"alert": ev, "to": target})
				return
			}
			pr.Infof("Sent the %s alert to %s", ev, target)
		},
	}
}

package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/schedule"
	"github.com/elt-dev/elt/state"
)

// scheduledRun is what the scheduler hands an invocation it runs for a
// job's slot: the request (run id, vars) and, once a node-building verb has
// run, its outcome.
type scheduledRun struct {
	req        schedule.Request
	parentVars map[string]any // the scheduler's own --vars
	outcome    *schedule.Outcome
}

// runID is the invocation id of this invocation: the scheduler's for a
// scheduled run, a new one otherwise.
func (a *app) runID() string {
	if a.sched != nil && a.sched.req.RunID != "" {
		return a.sched.req.RunID
	}
	return newInvocationID()
}

// slotVars returns the vars of the invocation: for a scheduled run the
// scheduler's --vars, under the job command's own --vars (v), under the
// job's vars and the slot's interval_start, interval_end and run_date.
func (a *app) slotVars(v map[string]any) map[string]any {
	if a.sched == nil {
		return v
	}
	out := map[string]any{}
	for _, m := range []map[string]any{a.sched.parentVars, v, a.sched.req.Vars} {
		for k, x := range m {
			out[k] = x
		}
	}
	return out
}

func (a *app) scheduleCommand() *cobra.Command {
	var (
		once bool
		jobs []string
		now  string
	)
	c := &cobra.Command{
		Use:   "schedule [--once] [--job NAME] [--now TS]",
		Short: "Run the jobs of project.yaml at their slots, or the due slots once (for cron)",
		Long: "schedule runs each job of project.yaml at the slots of its cron schedule, one run at a time,\n" +
			"in the foreground until SIGINT or SIGTERM. With --once it runs the slots due since the last\n" +
			"recorded run and exits, for cron, systemd timers or Kubernetes CronJobs. Each run gets the vars\n" +
			"interval_start, interval_end (previous slot → this slot) and run_date (the date of interval_start).",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return a.schedule(once, jobs, now)
		},
	}
	f := c.Flags()
	f.BoolVar(&once, "once", false, "run the due slots and exit")
	f.StringArrayVar(&jobs, "job", nil, "only this job (repeatable)")
	f.StringVar(&now, "now", "", "act as if the time were TS (2025-01-05T03:00:00Z, or a date)")
	return c
}

// schedule is `elt schedule`.
func (a *app) schedule(once bool, jobNames []string, nowFlag string) error {
	s, err := a.openProject()
	if err != nil {
		return err
	}
	if s.dbFile() == "" {
		return usagef("target %q is in memory: its run history would be lost between runs — give it a database file to schedule its jobs", s.targetName)
	}
	jobs, diags := schedule.Compile(s.proj.Jobs)
	if diags.HasErrors() {
		return diags.Err()
	}
	if len(jobs) == 0 {
		return diag.List{diag.Errorf(s.proj.Pos, "no jobs to schedule — add one under jobs: with a schedule: and a command:, e.g. daily: {schedule: \"0 2 * * *\", command: build}")}.Err()
	}
	if len(jobNames) > 0 {
		var keep []*schedule.Job
		for _, name := range jobNames {
			found := false
			for _, j := range jobs {
				if j.Name == name {
					keep, found = append(keep, j), true
				}
			}
			if !found {
				return usagef("--job %s: no such job in %s — use one of: %s", name, project.FileName, strings.Join(sortedKeys(s.proj.Jobs), ", "))
			}
		}
		jobs = keep
	}
	now := time.Now()
	if nowFlag != "" {
		t, err := schedule.ParseTime(nowFlag, time.UTC)
		if err != nil {
			return usagef("--now %q is not a time — write it like 2025-01-05T03:00:00Z or 2025-01-05", nowFlag)
		}
		now = t
	}
	parentVars, _ := parseVars(a.opts.Vars)
	sch := &schedule.Scheduler{
		Project: s.proj.Name,
		Jobs:    jobs,
		Store:   &stateStore{s: s},
		Run:     a.slotRunner(s, parentVars),
		Log:     a.scheduleLog,
	}
	if len(s.proj.Alerts) > 0 {
		n := a.notifier(s)
		sch.Notify = func(ctx context.Context, p schedule.Payload) { n.Notify(ctx, p) }
	}
	pr := a.printer()
	if once {
		sum, err := sch.Once(a.ctx, now)
		if err != nil {
			return err
		}
		switch {
		case pr.json:
			pr.emit(pr.out, "schedule_done", event{"ran": sum.Ran, "failed": sum.Failed, "now": now.UTC().Format(time.RFC3339)})
		case sum.Ran == 0:
			pr.Infof("Nothing due: every slot up to %s has run.%s", now.UTC().Format(time.RFC3339), nextSlots(jobs, now))
		default:
			pr.result(fmt.Sprintf("Ran %s: %d succeeded, %d failed.", plural(sum.Ran, "slot"), sum.Ran-sum.Failed, sum.Failed))
		}
		if sum.Failed > 0 {
			return failedError{}
		}
		return nil
	}
	offset := now.Sub(time.Now())
	sch.Now = func() time.Time { return time.Now().Add(offset) }
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = fmt.Sprintf("%s (%s %s)", j.Name, j.Schedule, j.Location)
	}
	if pr.json {
		pr.emit(pr.out, "schedule_start", event{"jobs": jobNamesOf(jobs), "database": s.dbPath()})
	} else {
		pr.Infof("Scheduling %s on %s; stop with Ctrl-C or SIGTERM", strings.Join(names, ", "), s.dbPath())
	}
	if err := sch.Daemon(a.ctx); err != nil {
		return err
	}
	if pr.json {
		pr.emit(pr.out, "schedule_stop", nil)
	} else {
		pr.Infof("Stopped.")
	}
	return nil
}

func jobNamesOf(jobs []*schedule.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Name
	}
	return out
}

// nextSlots renders " Next: daily at 2025-01-06 02:00 UTC." for the jobs.
func nextSlots(jobs []*schedule.Job, now time.Time) string {
	var parts []string
	for _, j := range jobs {
		if t := j.Next(now); !t.IsZero() {
			parts = append(parts, j.Name+" at "+slotTime(t))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " Next: " + strings.Join(parts, ", ") + "."
}

func slotTime(t time.Time) string { return t.Format("2006-01-02 15:04 MST") }

// slotRunner returns the RunFunc of the scheduler: it runs the job's
// command line in-process, as a fresh invocation of elt with the slot's
// run id and vars and the scheduler's global flags, and reads back how it
// ended.
func (a *app) slotRunner(s *session, parentVars map[string]any) schedule.RunFunc {
	return func(ctx context.Context, req schedule.Request) schedule.Outcome {
		var errBuf bytes.Buffer
		child := &app{ctx: ctx, stdin: a.stdin, stdout: a.stdout, stderr: io.MultiWriter(a.stderr, &errBuf),
			sched: &scheduledRun{req: req, parentVars: parentVars}}
		args := append(a.passFlags(s), req.Job.Args...)
		root := child.rootCommand()
		root.SetArgs(args)
		root.SetIn(a.stdin)
		root.SetOut(a.stdout)
		root.SetErr(child.stderr)
		started := time.Now()
		code := child.exitCode(root.ExecuteContext(ctx))
		var out schedule.Outcome
		if child.sched.outcome != nil {
			out = *child.sched.outcome
		} else {
			out = schedule.Outcome{Status: state.Success}
		}
		if out.Started.IsZero() {
			out.Started = started
		}
		if out.Completed.IsZero() {
			out.Completed = time.Now()
		}
		switch {
		case code == ExitCancelled || ctx.Err() != nil:
			out.Status = state.Cancelled
		case code != ExitOK && out.Status != state.Error:
			out.Status = state.Error
		}
		if out.Status == state.Error && out.Error == "" {
			out.Error = firstLine(errBuf.String())
			if out.Error == "" {
				out.Error = "elt " + strings.Join(req.Job.Args, " ") + " exited with status " + strconv.Itoa(code)
			}
		}
		return out
	}
}

// passFlags returns the global flags of this invocation that a job's run
// inherits; the job's own flags come after them and win.
func (a *app) passFlags(s *session) []string {
	o := a.opts
	args := []string{"--project-dir", s.proj.Dir, "--log-format", o.LogFormat}
	if o.Target != "" {
		args = append(args, "--target", o.Target)
	}
	if o.Threads > 0 {
		args = append(args, "--threads", strconv.Itoa(o.Threads))
	}
	if o.NoColor {
		args = append(args, "--no-color")
	}
	if o.Quiet {
		args = append(args, "--quiet")
	}
	return args
}

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// firstLine returns the first non-empty line of s without colour codes.
func firstLine(s string) string {
	for _, l := range strings.Split(ansiRE.ReplaceAllString(s, ""), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// scheduleLog prints the scheduler's events.
func (a *app) scheduleLog(e schedule.Event) {
	pr := a.printer()
	if pr.json {
		a.scheduleEvent(e)
		return
	}
	name := ""
	if e.Job != nil {
		name = e.Job.Name
	}
	slot := fmt.Sprintf("slot %s (run_date %s)", slotTime(e.Slot.End), e.Slot.RunDate())
	switch e.Kind {
	case schedule.SlotStart:
		pr.Infof("Job %s: %s, attempt %d of %d, run %s", name, slot, e.Attempt, e.Attempts, e.RunID)
	case schedule.SlotEnd:
		o := e.Outcome
		d := seconds(o.Completed.Sub(o.Started))
		switch o.Status {
		case state.Success:
			pr.Infof("Job %s: %s succeeded in %s", name, slot, d)
		case state.Warn:
			pr.result(fmt.Sprintf("Job %s: %s succeeded with warnings in %s", name, slot, d))
		case state.Cancelled:
			pr.Errorf("Job %s: %s cancelled after %s; it stays due", name, slot, d)
		default:
			pr.Errorf("Job %s: %s failed (attempt %d of %d) in %s: %s", name, slot, e.Attempt, e.Attempts, d, oneLine(o.Error, 200))
			if e.Attempt == e.Attempts {
				pr.Errorf("Job %s: %s stays due: the next elt schedule runs it again first", name, slot)
			}
		}
	case schedule.SlotRetry:
		pr.Infof("Job %s: retrying %s in %s", name, slot, e.Wait)
	case schedule.Skipped:
		pr.Infof("Job %s: passing over %s missed before %s (catchup: false)", name, plural(e.Count, "slot"), slotTime(e.Slot.End))
	case schedule.Superseded:
		pr.result(fmt.Sprintf("Job %s: failed %s is superseded by a later slot (catchup: false); run %s failed", name, slot, e.RunID))
	case schedule.Blocked:
		pr.Infof("Job %s: %s waits until the earlier failed slot succeeds", name, slot)
	case schedule.Idle:
		pr.Infof("Waiting for the next slot at %s", slotTime(e.Next))
	case schedule.AlertError:
		pr.Errorf("warning: job %s: %v", name, e.Err)
	}
}

// scheduleEvent writes a scheduler event as one JSON object.
func (a *app) scheduleEvent(e schedule.Event) {
	pr := a.printer()
	ev := event{}
	if e.Job != nil {
		ev["job"] = e.Job.Name
	}
	if !e.Slot.End.IsZero() {
		ev["slot"] = e.Slot.End.Format(time.RFC3339)
		ev["interval_start"] = e.Slot.Start.Format(time.RFC3339)
		ev["run_date"] = e.Slot.RunDate()
	}
	if e.RunID != "" {
		ev["run_id"] = e.RunID
	}
	if e.Attempts > 0 {
		ev["attempt"], ev["attempts"] = e.Attempt, e.Attempts
	}
	name := ""
	switch e.Kind {
	case schedule.SlotStart:
		name = "slot_start"
	case schedule.SlotEnd:
		name = "slot_end"
		ev["status"] = e.Outcome.Status
		ev["duration_s"] = e.Outcome.Completed.Sub(e.Outcome.Started).Seconds()
		if e.Outcome.Error != "" {
			ev["error"] = e.Outcome.Error
		}
		failed := []string{}
		for _, f := range e.Outcome.Failed {
			failed = append(failed, f.Node)
		}
		ev["nodes_failed"] = failed
	case schedule.SlotRetry:
		name = "slot_retry"
		ev["wait_s"] = e.Wait.Seconds()
	case schedule.Skipped:
		name = "slots_skipped"
		ev["count"] = e.Count
	case schedule.Superseded:
		name = "slot_superseded"
	case schedule.Blocked:
		name = "slot_blocked"
	case schedule.Idle:
		name = "idle"
		ev["next"] = e.Next.Format(time.RFC3339)
	case schedule.AlertError:
		pr.emit(pr.errw, "warning", event{"msg": e.Err.Error(), "job": ev["job"]})
		return
	}
	pr.emit(pr.out, name, ev)
}

// stateStore is the scheduler's Store over elt_state of the target
// database, opened for each call only.
type stateStore struct{ s *session }

func (st *stateStore) JobRuns(ctx context.Context, job string) (runs []state.RunRecord, err error) {
	err = st.s.withState(false, func(ctx context.Context, db state.DB) error {
		runs, err = state.JobRuns(ctx, db, job)
		return err
	})
	return runs, err
}

func (st *stateStore) Record(ctx context.Context, r state.RunRecord) error {
	return st.s.withState(true, func(ctx context.Context, db state.DB) error {
		return state.RecordRun(ctx, db, r)
	})
}

func (st *stateStore) PreviousStatus(ctx context.Context, job string, t time.Time) (status string, err error) {
	err = st.s.withState(false, func(ctx context.Context, db state.DB) error {
		status, err = state.PreviousStatus(ctx, db, job, "", t)
		return err
	})
	return status, err
}

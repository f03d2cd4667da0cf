package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/runner"
	"github.com/elt-dev/elt/state"
)

// rerun holds what backfill and retry add to a run: the time microbatch
// models fill up to, the backfill window, and for a retry the nodes to run.
type rerun struct {
	now      time.Time
	backfill *runner.Backfill
	// nodes, when not nil, replaces the selection (retry).
	nodes []manifest.NodeID
}

// runParams is what elt_state keeps of an invocation that builds nodes,
// so that `elt retry` repeats it with its own parameters, not today's.
type runParams struct {
	Command     string         `json:"command"`
	Vars        map[string]any `json:"vars,omitempty"`
	FullRefresh bool           `json:"full_refresh,omitempty"`
	Now         time.Time      `json:"now"`
	Start       string         `json:"backfill_start,omitempty"`
	End         string         `json:"backfill_end,omitempty"`
	Restate     bool           `json:"restate,omitempty"`
	Select      []string       `json:"select,omitempty"`
	Exclude     []string       `json:"exclude,omitempty"`
}

var backfillVerb = verb{"backfill", "Build the intervals of microbatch models between two dates", []manifest.ResourceType{manifest.Model}}

func (a *app) backfillCommand() *cobra.Command {
	var start, end string
	var restate bool
	c := &cobra.Command{
		Use:   "backfill -s SELECTOR --start DATE --end DATE [--restate]",
		Short: "Build the intervals of microbatch models between two dates (both inclusive)",
		Long: "backfill walks the intervals of the selected microbatch models from --start to --end (both dates\n" +
			"inclusive), in order, skipping those already built by the current version of the model; other\n" +
			"selected models are built as by run. It stops a model at its first failing interval, and the next\n" +
			"backfill resumes there. --restate rebuilds the intervals already done too. Intervals share a\n" +
			"transaction until their work has taken a second; ELT_COMMIT_INTERVALS_AFTER=0 commits each alone.",
		RunE: func(c *cobra.Command, args []string) error {
			if err := extraSelectors(args, a.opts.Select); err != nil {
				return err
			}
			if len(a.opts.Select) == 0 {
				return usagef("backfill needs -s SELECTOR — name the models to backfill")
			}
			bf, err := parseWindow(start, end)
			if err != nil {
				return err
			}
			bf.Restate = restate
			a.rerun = &rerun{backfill: bf}
			return a.execute(backfillVerb, args)
		},
	}
	f := c.Flags()
	f.StringVar(&start, "start", "", "first date to build, YYYY-MM-DD (inclusive)")
	f.StringVar(&end, "end", "", "last date to build, YYYY-MM-DD (inclusive)")
	f.BoolVar(&restate, "restate", false, "rebuild intervals already done too")
	return c
}

// parseWindow reads --start and --end.
func parseWindow(start, end string) (*runner.Backfill, error) {
	if start == "" || end == "" {
		return nil, usagef("backfill needs --start and --end, e.g. --start 2025-01-01 --end 2025-01-31")
	}
	s, err := runner.ParseTime(start)
	if err != nil {
		return nil, usagef("--start: %v", err)
	}
	e, err := runner.ParseTime(end)
	if err != nil {
		return nil, usagef("--end: %v", err)
	}
	if e.Before(s) {
		return nil, usagef("--end %s is before --start %s — swap them", end, start)
	}
	return &runner.Backfill{Start: s, End: e}, nil
}

// runOptions adds the rerun's parameters to opts: microbatch models fill
// up to the session's start (or the retried invocation's), in the
// backfill's window if any.
func (a *app) runOptions(s *session, opts runner.Options) (runner.Options, error) {
	opts.Now = s.started.UTC()
	opts.CommitIntervalsAfter = runner.DefaultCommitIntervalsAfter
	if v := os.Getenv(CommitIntervalsEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return opts, &usageError{msg: fmt.Sprintf("%s=%q is not a duration — write e.g. 0 (commit every interval), 500ms or 5s", CommitIntervalsEnv, v)}
		}
		opts.CommitIntervalsAfter = d
	}
	if a.rerun != nil {
		if !a.rerun.now.IsZero() {
			opts.Now = a.rerun.now
		}
		opts.Backfill = a.rerun.backfill
	}
	return opts, nil
}

// CommitIntervalsEnv names the environment variable that sets how long a
// microbatch model's intervals may share a transaction (a Go duration; 0
// commits every interval): runner.Options.CommitIntervalsAfter.
const CommitIntervalsEnv = "ELT_COMMIT_INTERVALS_AFTER"

// retrySelection replaces selected by the retried nodes still in the
// manifest, when this invocation is a retry.
func (a *app) retrySelection(s *session, selected []manifest.NodeID) []manifest.NodeID {
	if a.rerun == nil || a.rerun.nodes == nil {
		return selected
	}
	var out []manifest.NodeID
	for _, id := range a.rerun.nodes {
		if s.man.Nodes[id] != nil {
			out = append(out, id)
		}
	}
	return out
}

// recordRerun keeps this invocation's parameters and the nodes that did
// not succeed in elt_state, for `elt retry`. A failure to record is a
// warning: the run itself is done.
func (a *app) recordRerun(s *session, v verb, extra []string, opts runner.Options, res *runner.RunResult) {
	p := runParams{
		Command: v.name, Vars: s.vars, FullRefresh: a.opts.FullRefresh, Now: opts.Now,
		Select: selectors(a.opts.Select, extra...), Exclude: selectors(a.opts.Exclude),
	}
	if bf := opts.Backfill; bf != nil {
		p.Start, p.End, p.Restate = bf.Start.Format("2006-01-02"), bf.End.Format("2006-01-02"), bf.Restate
	}
	data, err := json.Marshal(p)
	if err != nil {
		a.printer().Errorf("warning: could not record the run for retry: %v", err)
		return
	}
	var outs []state.Outcome
	if res != nil {
		for _, n := range res.Nodes {
			if n.Status == runner.StatusError || n.Status == runner.StatusSkipped || n.Status == runner.StatusFail {
				outs = append(outs, state.Outcome{NodeID: string(n.NodeID), Status: n.Status, Message: n.Message})
			}
		}
	}
	err = s.withState(true, func(ctx context.Context, db state.DB) error {
		if err := state.Migrate(ctx, db); err != nil {
			return err
		}
		if err := state.SaveParams(ctx, db, s.invocationID, s.started, data); err != nil {
			return err
		}
		return state.RecordOutcomes(ctx, db, s.invocationID, outs)
	})
	if err != nil {
		a.printer().Errorf("warning: could not record the run for retry: %v", err)
	}
}

func (a *app) retryCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "retry",
		Short: "Rerun what failed or was skipped in the last invocation, with its parameters",
		Long: "retry reruns the nodes that failed or were skipped in the last run, build or backfill, with that\n" +
			"invocation's own vars, full-refresh flag, backfill dates and time — so a microbatch model resumes\n" +
			"at the interval that failed, not at today's.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return a.retry() },
	}
}

// retry reads the last invocation's parameters and outcomes and runs its
// failed and skipped nodes again with them.
func (a *app) retry() error {
	s, err := a.load(dbIfExists)
	if err != nil {
		return err
	}
	var (
		runID string
		raw   []byte
		outs  []state.Outcome
	)
	err = s.withState(false, func(ctx context.Context, db state.DB) error {
		var err error
		if runID, raw, err = state.LastParams(ctx, db); err != nil {
			return err
		}
		outs, err = state.Outcomes(ctx, db, runID)
		return err
	})
	s.close()
	if err != nil || raw == nil {
		return usagef("nothing to retry: no earlier run, build or backfill is recorded in %s", s.dbPath())
	}
	var p runParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("the last invocation's parameters are unreadable: %v", err)
	}
	pr := a.printer()
	if len(outs) == 0 {
		pr.Infof("Nothing to retry: every node of the last %s (%s) succeeded.", p.Command, runID)
		return nil
	}
	v := runVerb
	switch p.Command {
	case "build":
		v = buildVerb
	case "seed":
		v = seedVerb
	case "backfill":
		v = backfillVerb
	}
	rr := &rerun{now: p.Now}
	if p.Start != "" {
		bf, err := parseWindow(p.Start, p.End)
		if err != nil {
			return err
		}
		bf.Restate = p.Restate
		rr.backfill = bf
	}
	ids := make([]string, len(outs))
	for i, o := range outs {
		rr.nodes = append(rr.nodes, manifest.NodeID(o.NodeID))
		ids[i] = o.NodeID
	}
	vars, err := json.Marshal(p.Vars)
	if err != nil {
		return err
	}
	a.opts.Vars = string(vars)
	if p.Vars == nil {
		a.opts.Vars = ""
	}
	a.opts.FullRefresh = p.FullRefresh
	a.opts.Select, a.opts.Exclude = p.Select, p.Exclude
	a.rerun = rr
	pr.Infof("Retrying %d node(s) of %s %s: %s", len(ids), p.Command, runID, strings.Join(ids, ", "))
	return a.execute(v, nil)
}

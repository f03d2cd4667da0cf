package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/runner"
)

// streamFlags are the flags of elt stream.
type streamFlags struct {
	once     bool
	interval time.Duration
	serve    bool
	port     int
}

func (a *app) streamCommand() *cobra.Command {
	var f streamFlags
	c := &cobra.Command{
		Use:   "stream [-s SELECTOR...] [--once] [--interval 1s] [--serve [--port N]]",
		Short: "Run the micro-batches of stream models: once, or polling until Ctrl-C",
		Long: "elt stream reads what arrived in each selected stream model's source (landing-folder files\n" +
			"or Kafka records) since its last committed position, recomputes the windows the new events\n" +
			"touch and upserts them — output, window state and positions in one transaction, so a crash\n" +
			"never loses or double-counts an event. --once processes what has arrived and exits; otherwise\n" +
			"it polls every --interval until SIGINT/SIGTERM, finishing or rolling back the batch in flight.\n" +
			"--serve also answers GET /features/<model>?<column>=<value> on 127.0.0.1 from the same process,\n" +
			"which owns the database file.",
		RunE: func(c *cobra.Command, args []string) error {
			if err := extraSelectors(args, a.opts.Select); err != nil {
				return err
			}
			if f.interval <= 0 {
				return usagef("--interval %s must be positive, like 1s or 500ms", f.interval)
			}
			if f.port < 0 || f.port > 65535 {
				return usagef("--port %d is not valid — use 1 to 65535, or 0 for any free port", f.port)
			}
			if f.once && f.serve {
				return usagef("--serve needs a running stream — drop --once, or run elt serve after elt stream --once")
			}
			return a.stream(args, f)
		},
	}
	c.Flags().BoolVar(&f.once, "once", false, "process what has arrived, then exit")
	c.Flags().DurationVar(&f.interval, "interval", time.Second, "how often to look for new input")
	c.Flags().BoolVar(&f.serve, "serve", false, "also serve features over HTTP on 127.0.0.1 (see elt serve)")
	c.Flags().IntVar(&f.port, "port", 8081, "port of --serve on 127.0.0.1 (0: any free port)")
	return c
}

// stream runs the selected stream models' micro-batches.
func (a *app) stream(extra []string, f streamFlags) error {
	s, err := a.load(dbOpen)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.writeArtifacts(); err != nil {
		return err
	}
	selected, err := s.selectNodes(extra, manifest.Model)
	if err != nil {
		return err
	}
	var ids []manifest.NodeID
	for _, id := range selected {
		if s.man.Nodes[id].IsStream() {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return usagef("no stream model selected — stream models have materialized='stream'; select one with -s, or leave -s out")
	}
	if err := runner.PrepareStreams(a.ctx, s.db); err != nil {
		return err
	}
	pr := a.printer()
	models := make([]*runner.StreamModel, 0, len(ids))
	defer func() {
		for _, m := range models {
			m.Close()
		}
	}()
	for _, id := range ids {
		m, err := runner.NewStreamModel(a.ctx, s.db, s.man, id, runner.StreamOptions{
			RunID: s.invocationID, ProjectDir: s.proj.Dir, TargetDir: s.targetDir, FullRefresh: a.opts.FullRefresh,
		})
		if err != nil {
			n := s.man.Nodes[id]
			return fmt.Errorf("%s: %s: %w", n.Pos, n.Name, err)
		}
		models = append(models, m)
	}
	var wait func() error
	var refresh func(ctx context.Context, model string, from time.Time) error
	if f.serve {
		_, w, r, err := a.startFeatureServer(a.ctx, s, f.port)
		if err != nil {
			return err
		}
		wait, refresh = w, r
	}
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Node.Name
	}
	if f.once {
		failed := a.streamRound(models, refresh)
		if failed {
			return failedError{}
		}
		return nil
	}
	if pr.json {
		pr.emit(pr.out, "stream_start", event{"models": names, "interval": f.interval.String(), "database": s.dbPath()})
	} else {
		pr.Infof("Streaming %s every %s on %s; stop with Ctrl-C or SIGTERM", strings.Join(names, ", "), f.interval, s.dbPath())
	}
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	for a.ctx.Err() == nil {
		a.streamRound(models, refresh)
		select {
		case <-a.ctx.Done():
		case <-tick.C:
		}
	}
	if wait != nil {
		if err := wait(); err != nil && !errors.Is(err, context.Canceled) {
			pr.Errorf("serve: %v", err)
		}
	}
	if pr.json {
		pr.emit(pr.out, "stream_stop", nil)
	} else {
		pr.Infof("Stopped; every committed batch is kept, the batch in flight was rolled back.")
	}
	return a.ctx.Err() // exit 130, as for every command a signal stops
}

// streamRound runs each model's batches until nothing new is left, and
// reports each batch. When serving (refresh not nil), it refreshes the
// feature server's index of a model after each batch that changed its
// table. It returns whether a batch failed; a failed model is retried in
// the next round.
func (a *app) streamRound(models []*runner.StreamModel, refresh func(ctx context.Context, model string, from time.Time) error) (failed bool) {
	for _, m := range models {
		for a.ctx.Err() == nil {
			st, ran, err := m.Batch(a.ctx)
			if err != nil {
				if a.ctx.Err() != nil {
					return failed
				}
				a.reportBatchError(m, err)
				failed = true
				break
			}
			if !ran {
				break
			}
			if refresh != nil && st.Changed {
				if err := refresh(a.ctx, m.Node.Name, st.ChangedFrom); err != nil && a.ctx.Err() == nil {
					a.printer().Errorf("serve: %s: %v", m.Node.Name, err)
				}
			}
			a.reportBatch(m, st)
		}
	}
	return failed
}

func (a *app) reportBatch(m *runner.StreamModel, st runner.BatchStats) {
	pr := a.printer()
	rate := 0.0
	if st.Duration > 0 {
		rate = float64(st.Events) / st.Duration.Seconds()
	}
	if pr.json {
		ev := event{"model": m.Node.Name, "files": st.Files, "events": st.Events, "accepted": st.Accepted,
			"quarantined": st.Quarantined, "late": st.Late, "rows": st.Rows, "events_per_s": int64(rate),
			"lag_s": st.Lag.Seconds(), "duration_s": st.Duration.Seconds(), "compacted": st.Compacted}
		if !st.MaxEventTime.IsZero() {
			ev["max_event_time"] = st.MaxEventTime.UTC().Format(time.RFC3339Nano)
		}
		if !st.LateBefore.IsZero() {
			ev["watermark"] = st.LateBefore.UTC().Format(time.RFC3339Nano)
		}
		pr.emit(pr.out, "stream_batch", ev)
		return
	}
	if st.Files == 0 {
		pr.Infof("%s: created, empty, from its source's declared columns; it fills as events land", m.Node.Name)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s, %s events (%s/s) in %s", m.Node.Name, plural(st.Files, "file"), diag.Count(st.Events),
		diag.Count(int64(rate)), st.Duration.Round(time.Millisecond))
	if st.Quarantined > 0 {
		fmt.Fprintf(&b, ", %s quarantined (%s late)", diag.Count(st.Quarantined), diag.Count(st.Late))
	}
	fmt.Fprintf(&b, " → %s rows", diag.Count(st.Rows))
	if st.Lag > 0 {
		fmt.Fprintf(&b, " · lag %s", st.Lag.Round(10*time.Millisecond))
	}
	if !st.LateBefore.IsZero() {
		fmt.Fprintf(&b, " · watermark %s", st.LateBefore.UTC().Format("2006-01-02 15:04:05"))
	}
	if st.Compacted {
		b.WriteString(" · table re-sorted by key")
	}
	pr.Infof("%s", b.String())
}

func (a *app) reportBatchError(m *runner.StreamModel, err error) {
	a.printer().Errorf("%s: %s: %v", m.Node.Pos, m.Node.Name, err)
}

package cmd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/serve"
	"github.com/elt-dev/elt/warehouse"
)

// defaultServePort is elt serve's port when --port is not given.
const defaultServePort = 8081

// servableMaterializations are the materializations whose tables elt serve
// answers lookups from; views and ephemeral models are not served.
var servableMaterializations = map[string]bool{"table": true, "incremental": true, "snapshot": true, "stream": true}

func (a *app) serveCommand() *cobra.Command {
	var port int
	c := &cobra.Command{
		Use:   "serve [--port N]",
		Short: "Serve model rows as JSON feature lookups on 127.0.0.1",
		Long: `Serve the rows of every enabled table, incremental, snapshot and stream model
on 127.0.0.1 as JSON:

  GET /features                                   the servable models and their columns
  GET /features/<model>?<col>=<val>[&<col>=<val>]  the matching rows (a column repeated: any of the values)
        [&latest=true]                            only the newest event_time per unique_key
        [&limit=N]                                at most N rows (default 1000)
  GET /health                                     {"status":"ok"}

elt serve holds the database file, like every elt command that opens it: to
serve while streaming, run both in one process with elt stream --serve.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if port < 0 || port > 65535 {
				return usagef("--port %d is not valid — use 1 to 65535, or 0 for any free port", port)
			}
			return a.serve(port)
		},
	}
	c.Flags().IntVar(&port, "port", defaultServePort, "port on 127.0.0.1 (0: any free port)")
	return c
}

// serve runs elt serve until the invocation is cancelled.
func (a *app) serve(port int) error {
	s, err := a.load(noDB)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.openServeDB(); err != nil {
		return err
	}
	_, wait, _, err := a.startFeatureServer(a.ctx, s, port)
	if err != nil {
		return err
	}
	return wait()
}

// openServeDB opens the target's existing database file for serving.
func (s *session) openServeDB() error {
	f := s.dbFile()
	if f == "" {
		return usagef("target %s uses an in-memory database, which holds nothing to serve — set its path in project.yaml", s.targetName)
	}
	if !exists(f) {
		return fmt.Errorf("database %s does not exist yet — run elt run or elt stream first, or serve while streaming with elt stream --serve", s.dbPath())
	}
	db, err := warehouse.Open(s.a.ctx, s.target.Path, s.settings())
	if err != nil {
		var le *warehouse.LockError
		if errors.As(err, &le) {
			return fmt.Errorf("%v; to serve while streaming, run elt stream --serve, which serves from its own process", err)
		}
		return err
	}
	s.db = db
	return nil
}

// servableFeatures returns the features of man: every enabled model
// materialized as table, incremental, snapshot or stream, by name.
func servableFeatures(man *manifest.Manifest) []serve.Feature {
	var out []serve.Feature
	for _, n := range man.Nodes {
		if n.ResourceType != manifest.Model || !n.Config.Enabled || n.Relation == "" ||
			!servableMaterializations[n.Config.Materialized] {
			continue
		}
		out = append(out, serve.Feature{
			Name:      n.Name,
			Relation:  n.Relation,
			UniqueKey: n.Config.UniqueKey,
			EventTime: n.Config.EventTime,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// startFeatureServer starts serving the features of s's manifest from
// s.db (which must be open) on 127.0.0.1:port (0: any free port) and
// prints where. It first builds the in-memory key index of each model
// that has one (a failure is reported, and those lookups go to DuckDB).
// It returns once the server listens: addr is its address
// ("127.0.0.1:8081"), and wait blocks until ctx is cancelled and the
// requests in flight have finished, and returns the server's error. A
// caller that writes to s.db meanwhile (elt stream --serve) shares the
// process and the database handle with the server, whose DuckDB reads
// see each committed transaction; it must call refresh after each commit
// to a model's table with the earliest event_time whose rows it replaced
// (zero: any), or lookups answered from the index keep the old rows.
func (a *app) startFeatureServer(ctx context.Context, s *session, port int) (addr string, wait func() error,
	refresh func(ctx context.Context, model string, from time.Time) error, err error) {
	if s.db == nil {
		return "", nil, nil, errors.New("the feature server needs the database open")
	}
	features := servableFeatures(s.man)
	ln, err := serve.Listen(port)
	if err != nil {
		return "", nil, nil, usagef("serve: %v", err)
	}
	serve.TuneGC()
	h := serve.NewHandler(s.db, features)
	if err := h.Warm(ctx); err != nil {
		if ctx.Err() != nil {
			ln.Close()
			return "", nil, nil, ctx.Err()
		}
		a.printer().Errorf("warning: serve: %v — those lookups read DuckDB instead", err)
	}
	addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- serve.Serve(ctx, ln, h) }()
	if len(features) == 0 {
		a.printer().Errorf("warning: no model is materialized as table, incremental, snapshot or stream — there is nothing to serve")
	}
	a.printer().Infof("serving features of %s on http://%s/features — Ctrl-C to stop", plural(len(features), "model"), addr)
	return addr, func() error { return <-done }, h.Refresh, nil
}

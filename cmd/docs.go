package cmd

import (
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/docs"
	"github.com/elt-dev/elt/manifest"
)

func (a *app) docsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "docs (generate | serve [--port N])",
		Short: "Generate or serve the project's documentation site",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return usagef("docs needs a subcommand: generate or serve")
		},
	}
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Write the static documentation site into target/docs/ (works offline)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			_, err := a.docsGenerate()
			return err
		},
	}
	var port int
	serve := &cobra.Command{
		Use:   "serve [--port N]",
		Short: "Serve target/docs/ on 127.0.0.1 (generating it first when missing)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if port < 0 || port > 65535 {
				return usagef("--port %d is not valid — use 1 to 65535, or 0 for any free port", port)
			}
			return a.docsServe(port)
		},
	}
	serve.Flags().IntVar(&port, "port", 8080, "port on 127.0.0.1 (0: any free port)")
	c.AddCommand(gen, serve)
	return c
}

// docsGenerate compiles the project, computes its column lineage on the
// target database (when it exists), reads the last run results and writes
// target/docs/. It returns the site's directory.
func (a *app) docsGenerate() (string, error) {
	s, err := a.load(dbIfExists)
	if err != nil {
		return "", err
	}
	defer s.close()
	if err := s.writeArtifacts(); err != nil {
		return "", err
	}
	l, err := s.buildLineage()
	if err != nil {
		return "", err
	}
	runs := map[manifest.NodeID]docs.RunInfo{}
	if s.db != nil {
		if st, err := docs.StateRuns(a.ctx, s.db); err == nil {
			runs = st
		} else {
			a.printer().Errorf("warning: cannot read elt_state: %v — the docs show no state results", err)
		}
	}
	last, err := docs.ReadRunResults(filepath.Join(s.targetDir, "run_results.json"))
	if err != nil {
		return "", err
	}
	for id, r := range last {
		runs[id] = r
	}
	dir := filepath.Join(s.targetDir, "docs")
	data := docs.Collect(docs.Input{Manifest: s.man, Lineage: l, Runs: runs, GeneratedAt: time.Now()})
	if err := docs.Generate(dir, data); err != nil {
		return "", err
	}
	issues := 0
	for _, n := range l.Nodes {
		issues += len(n.Issues)
	}
	pr := a.printer()
	pr.Infof("Wrote the documentation of %d nodes to target/docs/ (open target/docs/index.html, or run elt docs serve)", len(data.Nodes))
	if issues > 0 {
		pr.Infof("Column lineage: %d construct(s) could not be resolved; each node page lists them", issues)
	}
	return dir, nil
}

// docsServe generates the site and serves it until interrupted.
func (a *app) docsServe(port int) error {
	dir, err := a.docsGenerate()
	if err != nil {
		return err
	}
	return docs.Serve(a.ctx, dir, port, func(url string) {
		a.printer().Infof("Serving the docs at %s — press Ctrl+C to stop", url)
	})
}

package cmd

import (
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/runner"
	"github.com/elt-dev/elt/timings"
)

// verb describes one of the verbs that build nodes: which resource types
// it acts on.
type verb struct {
	name  string
	short string
	types []manifest.ResourceType
}

var (
	runVerb   = verb{"run", "Build the selected models", []manifest.ResourceType{manifest.Model}}
	buildVerb = verb{"build", "Build the selected seeds and models and run their tests in graph order", []manifest.ResourceType{manifest.Seed, manifest.Model, manifest.Test}}
	seedVerb  = verb{"seed", "Load the selected seeds from seeds/*.csv", []manifest.ResourceType{manifest.Seed}}
)

func (a *app) runCommand() *cobra.Command   { return a.verbCommand(runVerb) }
func (a *app) buildCommand() *cobra.Command { return a.verbCommand(buildVerb) }
func (a *app) seedCommand() *cobra.Command  { return a.verbCommand(seedVerb) }

// verbCommand builds the cobra command of v. Positional words continue
// the --select list, so `-s a b` selects a and b as in dbt.
func (a *app) verbCommand(v verb) *cobra.Command {
	return &cobra.Command{
		Use:   v.name + " [-s SELECTOR...]",
		Short: v.short,
		RunE: func(c *cobra.Command, args []string) error {
			if err := extraSelectors(args, a.opts.Select); err != nil {
				return err
			}
			return a.execute(v, args)
		},
	}
}

// extraSelectors accepts positional words only after -s/--select.
func extraSelectors(args, sel []string) error {
	if len(args) > 0 && len(sel) == 0 {
		return usagef("unexpected argument %q — select nodes with -s %s", args[0], args[0])
	}
	return nil
}

func (a *app) compileCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "compile [-s SELECTOR...]",
		Short: "Render the SQL of every model into target/compiled/ and check the graph",
		RunE: func(c *cobra.Command, args []string) error {
			if err := extraSelectors(args, a.opts.Select); err != nil {
				return err
			}
			return a.compile(args)
		},
	}
}

// compile loads and compiles the project, writes the artifacts and reports
// what it compiled. It opens the database only when it exists.
func (a *app) compile(extra []string) error {
	s, err := a.load(dbIfExists)
	if err != nil {
		return err
	}
	defer s.close()
	selected, err := s.selectNodes(extra)
	if err != nil {
		return err
	}
	impact, err := s.impactCheck() // reads --state before target/ is rewritten
	if err != nil {
		return err
	}
	if err := s.writeArtifacts(); err != nil {
		return err
	}
	pr := a.printer()
	pr.Infof("%s", s.foundLine())
	if s.reused != nil {
		pr.Infof("Reused the last compile of %d nodes (%d selected): nothing it depended on changed; wrote target/manifest.json", len(s.man.Nodes), len(selected))
	} else if s.patchedFrom != nil && s.patched > 0 {
		pr.Infof("Compiled %d nodes (%d selected) into target/compiled/ and wrote target/manifest.json, rendering again only the %s whose files or variables changed since the last compile",
			len(s.man.Nodes), len(selected), plural(s.patched, "node"))
	} else if s.patchedFrom != nil {
		pr.Infof("Compiled %d nodes (%d selected) into target/compiled/ and wrote target/manifest.json from the last compile: no enabled node changed",
			len(s.man.Nodes), len(selected))
	} else {
		pr.Infof("Compiled %d nodes (%d selected) into target/compiled/ and wrote target/manifest.json", len(s.man.Nodes), len(selected))
	}
	return impact()
}

// execute is run, build and seed: load, select, write artifacts, run the
// hooks and the nodes, write run_results.json and print the summary.
func (a *app) execute(v verb, extra []string) error {
	s, err := a.load(dbOpen)
	if err != nil {
		return err
	}
	defer s.close()
	selected, err := s.selectNodes(extra, v.types...)
	if err != nil {
		return err
	}
	selected = a.retrySelection(s, selected)
	if err := s.writeArtifacts(); err != nil {
		return err
	}
	rep := newReporter(a.printer(), s)
	rep.header()
	if len(selected) == 0 {
		rep.nothingSelected()
		return nil
	}
	runOpts, err := a.runOptions(s, runner.Options{
		Threads:      s.threads,
		FailFast:     a.opts.FailFast,
		FullRefresh:  a.opts.FullRefresh,
		InvocationID: s.invocationID,
		Command:      v.name,
		Vars:         s.vars,
		Selector:     strings.Join(selectors(a.opts.Select, extra...), " "),
		ProjectDir:   s.proj.Dir,
		TargetDir:    s.targetDir,
		OnEvent:      rep.onEvent,
	})
	if err != nil {
		return err
	}
	if err := s.runHooks("on-run-start"); err != nil {
		return err
	}
	done := timings.Start("run")
	res, runErr := runner.Run(a.ctx, s.db, s.man, selected, runOpts)
	done()
	done = timings.Start("after run")
	a.recordRerun(s, v, extra, runOpts, res)
	if res != nil {
		var warnings diag.List
		for _, w := range res.Warnings {
			warnings.Warnf(diag.Pos{}, "%s", w)
		}
		a.printer().Diagnostics(warnings)
		if err := runner.WriteRunResults(filepath.Join(s.targetDir, "run_results.json"), res, s.man); err != nil {
			return err
		}
	}
	if runErr != nil && a.ctx.Err() == nil {
		return runErr
	}
	hookErr := error(nil)
	if a.ctx.Err() == nil {
		hookErr = s.runHooks("on-run-end")
	}
	failed := rep.summary(res)
	a.afterRun(s, commandLine(v.name, a.opts, extra), res)
	done()
	switch {
	case a.ctx.Err() != nil:
		return a.ctx.Err()
	case hookErr != nil:
		return hookErr
	case failed:
		return failedError{}
	}
	return nil
}

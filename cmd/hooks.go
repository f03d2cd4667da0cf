package cmd

import (
	"github.com/elt-dev/elt/compiler"
	"github.com/elt-dev/elt/project"
)

// runHooks renders and runs the on-run-start or on-run-end hooks (which is
// "on-run-start" or "on-run-end"). They render at run time, so they may
// call run_query(). A failing hook stops the invocation with exit 1.
func (s *session) runHooks(which string) error {
	src := s.proj.OnRunStart
	if which == "on-run-end" {
		src = s.proj.OnRunEnd
	}
	if len(src) == 0 {
		return nil
	}
	opts, err := s.compileOptions()
	if err != nil {
		return err
	}
	hooks, diags := compiler.RenderHooks(s.proj, s.man, src, opts)
	if diags.HasErrors() {
		return diags.Err()
	}
	pr := s.a.printer()
	for i, h := range hooks {
		if err := s.db.Exec(s.ctx(), h); err != nil {
			if s.ctx().Err() != nil {
				return s.ctx().Err()
			}
			pr.Errorf("%s: %s hook %d of %d failed: %v", project.FileName, which, i+1, len(hooks), err)
			return &reportedError{code: ExitFailure}
		}
	}
	if len(hooks) > 0 {
		pr.Infof("Ran %s of %s", plural(len(hooks), "hook"), which)
	}
	return nil
}

// renderOperation renders macro with keyword args for run-operation.
func (s *session) renderOperation(macro string, args map[string]any) (string, error) {
	opts, err := s.compileOptions()
	if err != nil {
		return "", err
	}
	return compiler.RenderOperation(s.proj, s.man, macro, args, opts)
}

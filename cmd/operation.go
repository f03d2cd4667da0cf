package cmd

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/project"
)

func (a *app) runOperationCommand() *cobra.Command {
	var argsYAML string
	c := &cobra.Command{
		Use:   "run-operation MACRO [--args YAML]",
		Short: "Render a macro from macros/ and run the SQL it returns",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			macroArgs, err := parseArgs(argsYAML)
			if err != nil {
				return err
			}
			return a.runOperation(args[0], macroArgs)
		},
	}
	c.Flags().StringVar(&argsYAML, "args", "", "the macro's keyword arguments as a YAML mapping, e.g. '{days: 7}'")
	return c
}

// parseArgs decodes --args: a YAML (or JSON) mapping of keyword arguments.
func parseArgs(s string) (map[string]any, error) {
	m, err := project.ParseMapping(s)
	if err != nil {
		return nil, usagef("--args is not a YAML mapping: %s — write it like '{days: 7}'", err)
	}
	return m, nil
}

// runOperation renders macro with args (it may call run_query) and runs
// the SQL it renders to, printing the rows when the SQL returns any.
func (a *app) runOperation(macro string, args map[string]any) error {
	s, err := a.load(dbOpen)
	if err != nil {
		return err
	}
	defer s.close()
	pr := a.printer()
	pr.Infof("Running operation %s", macro)
	sql, err := s.renderOperation(macro, args)
	if err != nil {
		return err
	}
	if strings.TrimSpace(sql) == "" {
		pr.Infof("Done: %s rendered no SQL", macro)
		return nil
	}
	res, err := s.db.Query(a.ctx, sql)
	if err != nil {
		pr.Errorf("operation %s failed: %v", macro, err)
		return &reportedError{code: ExitFailure}
	}
	if len(res.Columns) > 0 && len(res.Rows) > 0 {
		pr.Plain(renderTable(res.Columns, res.Rows))
	}
	pr.Infof("Done: %s", macro)
	return nil
}

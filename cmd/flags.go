package cmd

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/project"
)

// globalOptions are the flags every verb accepts (SPEC §7, "global").
type globalOptions struct {
	ProjectDir  string
	Target      string
	Vars        string // a YAML or JSON mapping, e.g. '{run_date: 2025-01-05}'
	Threads     int    // 0 = the target's threads
	LogFormat   string // text|json
	NoColor     bool
	Quiet       bool
	Select      []string
	Exclude     []string
	FullRefresh bool
	FailFast    bool
	State       string // directory holding a previous manifest.json, for state:modified
	// NoPartialParse compiles every template even when the previous
	// compile could be reused (package partialparse).
	NoPartialParse bool
}

// register adds the global flags to root as persistent flags.
func (o *globalOptions) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&o.ProjectDir, "project-dir", ".", "the project directory (holding project.yaml)")
	f.StringVar(&o.Target, "target", "", "the target in project.yaml to use (default: the project's target)")
	f.StringVar(&o.Vars, "vars", "", "variables as a YAML or JSON mapping, e.g. '{run_date: 2025-01-05}'")
	f.IntVar(&o.Threads, "threads", 0, "models run in parallel (default: the target's threads)")
	f.StringVar(&o.LogFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&o.NoColor, "no-color", false, "never colour the output")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print only errors and the summary")
	f.StringArrayVarP(&o.Select, "select", "s", nil, "nodes to act on (dbt selector syntax; repeatable)")
	f.StringArrayVar(&o.Exclude, "exclude", nil, "nodes to leave out (dbt selector syntax; repeatable)")
	f.BoolVar(&o.FullRefresh, "full-refresh", false, "rebuild incremental models from scratch")
	f.BoolVar(&o.FailFast, "fail-fast", false, "stop at the first failure")
	f.StringVar(&o.State, "state", "", "directory with the manifest.json of a previous run, for state:modified")
	f.BoolVar(&o.NoPartialParse, "no-partial-parse", false, "compile every template, even when nothing changed since the last compile")
}

// validate checks flag values that cobra cannot.
func (o *globalOptions) validate() error {
	switch o.LogFormat {
	case "text", "json":
	default:
		return usagef("--log-format %q is not valid — use text or json", o.LogFormat)
	}
	if o.Threads < 0 {
		return usagef("--threads %d is not valid — use a positive number", o.Threads)
	}
	if o.ProjectDir == "" {
		return usagef("--project-dir is empty — give the project directory")
	}
	if _, err := parseVars(o.Vars); err != nil {
		return err
	}
	return nil
}

// selectors splits every --select value at spaces (space is union, as in
// dbt) and appends extra, the positional words after `-s a b`.
func selectors(values []string, extra ...string) []string {
	var out []string
	for _, v := range append(append([]string(nil), values...), extra...) {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// parseVars decodes --vars: a YAML (or JSON) mapping, read as
// project.yaml's vars: are (dates and times as strings, as written).
func parseVars(s string) (map[string]any, error) {
	m, err := project.ParseMapping(s)
	if err != nil {
		return nil, usagef("--vars is not a YAML mapping: %s — write it like '{run_date: 2025-01-05}'", err)
	}
	return m, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

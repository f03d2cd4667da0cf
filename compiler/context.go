package compiler

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"

	"github.com/elt-dev/elt/manifest"
)

// pass says what a render is for. Discovery renders run before configs are
// known, only to collect config() calls: ref and source return placeholders
// and never fail, is_incremental() is false and `execute` is false, as in
// dbt's parse phase. Final renders produce the compiled SQL.
type pass int

const (
	discovery pass = iota + 1
	final
)

// renderState is the per-render state the context functions reach through
// the render's context. A render runs on one goroutine, so it needs no lock.
type renderState struct {
	c    *compilation
	u    *unit // the model or test rendered; nil for hooks and operations
	pass pass
	root *exec.Renderer

	deps    map[manifest.NodeID]bool
	configs []map[string]any // config() calls in order (discovery pass)
	trace   []frame          // where a failing macro call failed, innermost first
	// givens maps a unit test's inputs ("ref:x", "source:s.t") to their
	// fixture tables; when set, ref() and source() resolve only to them.
	givens map[string]string
}

func stateOf(e *exec.Evaluator) *renderState {
	v, _ := e.Environment.Context.Get(stateKey)
	st, _ := v.(*renderState)
	return st
}

// contextFunc is the Go shape of every elt function in templates.
type contextFunc = func(*exec.Evaluator, *exec.VarArgs) (any, error)

// globalFuncs are the functions every template sees besides macros.
var globalFuncs = map[string]contextFunc{
	"ref":            refFunc,
	"source":         sourceFunc,
	"config":         configFunc,
	"var":            varFunc,
	"env_var":        envVarFunc,
	"is_incremental": isIncrementalFunc,
	"run_query":      runQueryFunc,
	"log":            logFunc,
}

// gonjaGlobals are the names gonja itself defines, for did-you-mean hints.
var gonjaGlobals = []string{"range", "dict", "cycler", "joiner", "lipsum", "namespace", "loop", "self", "caller"}

func withState(fn func(st *renderState, va *exec.VarArgs) (any, error)) contextFunc {
	return func(e *exec.Evaluator, va *exec.VarArgs) (any, error) {
		st := stateOf(e)
		if st == nil {
			return nil, errors.New("elt function called outside a render")
		}
		return fn(st, va)
	}
}

var (
	refFunc           = withState(ref)
	sourceFunc        = withState(source)
	configFunc        = withState(configCall)
	varFunc           = withState(variable)
	envVarFunc        = withState(envVar)
	isIncrementalFunc = withState(isIncremental)
	runQueryFunc      = withState(runQuery)
	logFunc           = withState(logMsg)
)

// stringArgs returns the call's positional arguments as strings, checking
// their count is between min and max and that no keyword is given.
func stringArgs(name string, va *exec.VarArgs, min, max int) ([]string, error) {
	if len(va.KwArgs) > 0 {
		keys := make([]string, 0, len(va.KwArgs))
		for k := range va.KwArgs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return nil, fmt.Errorf("%s() takes no keyword argument %s", name, keys[0])
	}
	if len(va.Args) < min || len(va.Args) > max {
		want := fmt.Sprint(min)
		if max > min {
			want = fmt.Sprintf("%d to %d", min, max)
		}
		return nil, fmt.Errorf("%s() takes %s arguments, got %d", name, want, len(va.Args))
	}
	out := make([]string, len(va.Args))
	for i, a := range va.Args {
		if !a.IsString() {
			return nil, fmt.Errorf("%s() arguments must be strings, got %s", name, a.String())
		}
		out[i] = a.String()
	}
	return out, nil
}

// ref resolves a model or seed by name and records the dependency.
func ref(st *renderState, va *exec.VarArgs) (any, error) {
	args, err := stringArgs("ref", va, 1, 1)
	if err != nil {
		return nil, err
	}
	name := args[0]
	c := st.c
	if st.pass == discovery {
		return relation{Schema: "main", Identifier: name}, nil
	}
	if st.givens != nil {
		return st.given("ref:"+name, "ref('"+name+"')")
	}
	if st.u != nil && st.u.node.ResourceType == manifest.Model && st.u.node.Name == name {
		return nil, fmt.Errorf("model %s refs itself — use {{ this }} to name its own relation", name)
	}
	if m := c.models[name]; m != nil {
		if !m.node.Config.Enabled {
			return nil, fmt.Errorf("ref('%s') points to a disabled model (enabled: false in %s) — enable it or remove the ref", name, m.file.Path)
		}
		st.dep(m.node.ID)
		return st.batchFiltered(m.rel, m.node), nil
	}
	if s := c.seeds[name]; s != nil {
		st.dep(s.ID)
		return relation{Schema: s.Schema, Identifier: s.Alias}, nil
	}
	if s := manifest.DidYouMean(name, c.refNames); s != "" {
		return nil, fmt.Errorf("ref('%s') not found — did you mean %s?", name, s)
	}
	return nil, fmt.Errorf("ref('%s') not found — no model or seed is called %s", name, name)
}

func (st *renderState) dep(id manifest.NodeID) {
	if st.deps == nil {
		st.deps = map[manifest.NodeID]bool{}
	}
	st.deps[id] = true
}

// source resolves a source table and records the dependency.
func source(st *renderState, va *exec.VarArgs) (any, error) {
	args, err := stringArgs("source", va, 2, 2)
	if err != nil {
		return nil, err
	}
	src, table := args[0], args[1]
	if st.pass == discovery {
		return relation{Schema: src, Identifier: table}, nil
	}
	if st.givens != nil {
		return st.given("source:"+src+"."+table, "source('"+src+"', '"+table+"')")
	}
	c := st.c
	if n := c.sources[manifest.SourceID(src, table)]; n != nil {
		st.dep(n.ID)
		if n.IsStreamSource() {
			return st.streamSourceRelation(n)
		}
		return st.batchFiltered(relation{expr: n.Relation, Schema: n.Schema, Identifier: n.Alias}, n), nil
	}
	tables, ok := c.sourceTables[src]
	if !ok {
		names := make([]string, 0, len(c.sourceTables))
		for s := range c.sourceTables {
			names = append(names, s)
		}
		if s := manifest.DidYouMean(src, names); s != "" {
			return nil, fmt.Errorf("source('%s', '%s') not found — did you mean source %s?", src, table, s)
		}
		return nil, fmt.Errorf("source('%s', '%s') not found — no source is called %s; declare it under sources: in a models/*.yml", src, table, src)
	}
	if s := manifest.DidYouMean(table, tables); s != "" {
		return nil, fmt.Errorf("source('%s', '%s') not found — source %s has no table %s; did you mean %s?", src, table, src, table, s)
	}
	return nil, fmt.Errorf("source('%s', '%s') not found — source %s has tables: %s", src, table, src, strings.Join(tables, ", "))
}

// configCall records config(key=value, …) during discovery, checking each
// key and value like YAML config. It renders as nothing.
func configCall(st *renderState, va *exec.VarArgs) (any, error) {
	if len(va.Args) > 0 {
		return nil, errors.New("config() takes keyword arguments only, like config(materialized='table')")
	}
	if st.pass != discovery {
		return "", nil
	}
	keys := make([]string, 0, len(va.KwArgs))
	for k := range va.KwArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	call := make(map[string]any, len(keys))
	for _, k := range keys {
		v := toGo(va.KwArgs[k])
		if _, err := manifest.CheckConfigValue(k, v); err != nil {
			return nil, err
		}
		call[manifest.NormalizeConfigKey(k)] = v
	}
	st.configs = append(st.configs, call)
	return "", nil
}

// variable is var(name[, default]): --vars, then project vars, then the default.
func variable(st *renderState, va *exec.VarArgs) (any, error) {
	if len(va.Args) < 1 || len(va.Args) > 2 || !va.Args[0].IsString() {
		return nil, errors.New("var() takes a variable name and an optional default, like var('run_date', '2025-01-01')")
	}
	name := va.Args[0].String()
	if u := st.u; u != nil {
		if u.varsRead == nil {
			u.varsRead = map[string]bool{}
		}
		u.varsRead[name] = true
	}
	if v, ok := st.c.vars[name]; ok {
		return v, nil
	}
	if len(va.Args) == 2 {
		return va.Args[1].Interface(), nil
	}
	names := make([]string, 0, len(st.c.vars))
	for k := range st.c.vars {
		names = append(names, k)
	}
	hint := ""
	if s := manifest.DidYouMean(name, names); s != "" {
		hint = fmt.Sprintf("did you mean %s? Otherwise ", s)
	}
	return nil, fmt.Errorf("var('%s') is not defined — %sset it under vars: in project.yaml, pass --vars '{%s: …}', or give a default: var('%s', …)", name, hint, name, name)
}

// envVar is env_var(name[, default]).
func envVar(st *renderState, va *exec.VarArgs) (any, error) {
	if len(va.Args) < 1 || len(va.Args) > 2 || !va.Args[0].IsString() {
		return nil, errors.New("env_var() takes a variable name and an optional default, like env_var('HOME', '/tmp')")
	}
	name := va.Args[0].String()
	if v, ok := st.c.lookupEnv(name); ok {
		return v, nil
	}
	if len(va.Args) == 2 {
		return va.Args[1].Interface(), nil
	}
	return nil, fmt.Errorf("env_var('%s') is not set — export %s or give a default: env_var('%s', …)", name, name, name)
}

// isIncremental is true when the model is incremental, its relation already
// exists and this is not a full refresh (config full_refresh overrides the
// --full-refresh flag, as in dbt).
func isIncremental(st *renderState, va *exec.VarArgs) (any, error) {
	if len(va.Args) > 0 || len(va.KwArgs) > 0 {
		return nil, errors.New("is_incremental() takes no arguments")
	}
	if st.pass != final || st.u == nil || st.u.node.ResourceType != manifest.Model {
		return false, nil
	}
	if st.givens != nil {
		return false, nil // a unit test renders the model's full build on its fixtures, as dbt does
	}
	n := st.u.node
	if !incrementalKind(n.Config) || st.c.opts.Existing == nil {
		return false, nil
	}
	full := st.c.opts.FullRefresh
	if n.Config.FullRefresh != nil {
		full = *n.Config.FullRefresh
	}
	return !full && st.c.opts.Existing(n.Relation), nil
}

// runQuery is run_query(sql) through Options.Query. During discovery it
// returns an empty table without running anything.
func runQuery(st *renderState, va *exec.VarArgs) (any, error) {
	args, err := stringArgs("run_query", va, 1, 1)
	if err != nil {
		return nil, err
	}
	if st.pass == discovery {
		return newTable(&QueryResult{}), nil
	}
	if st.c.opts.Query == nil {
		return nil, errors.New("run_query() needs a database — it is available when elt runs against a target (run, build, run-operation), not in this command")
	}
	res, err := st.c.opts.Query(args[0])
	if err != nil {
		return nil, fmt.Errorf("run_query failed: %v", err)
	}
	return newTable(res), nil
}

// logMsg is log(msg, info=False): the message goes to Options.Log.
func logMsg(st *renderState, va *exec.VarArgs) (any, error) {
	if len(va.Args) < 1 {
		return nil, errors.New("log() needs a message")
	}
	if st.pass == final && st.c.opts.Log != nil {
		st.c.opts.Log(va.Args[0].String())
	}
	return "", nil
}

// raiseCompilerError is exceptions.raise_compiler_error(msg).
func raiseCompilerError(va *exec.VarArgs) (any, error) {
	if len(va.Args) < 1 {
		return nil, errors.New("raise_compiler_error() needs a message")
	}
	return nil, errors.New(va.Args[0].String())
}

// warnFunc is exceptions.warn(msg): the message goes to Options.Log.
func warnFunc(st *renderState, va *exec.VarArgs) (any, error) {
	if len(va.Args) >= 1 && st.pass == final && st.c.opts.Log != nil {
		st.c.opts.Log("warning: " + va.Args[0].String())
	}
	return "", nil
}

// toGo converts a template value to plain Go values: string, bool, int,
// float64, []any, map[string]any or nil.
func toGo(v *exec.Value) any {
	if v == nil || v.IsNil() {
		return nil
	}
	out := v.ToGoSimpleType(false)
	if err, ok := out.(error); ok {
		return err.Error()
	}
	return out
}

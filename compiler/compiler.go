// Package compiler turns a loaded project into a manifest: it renders every
// model, test and hook with Jinja (gonja), resolves ref() and source() into
// the dependency graph, merges configuration (file > properties YAML >
// folder defaults > project defaults), inlines ephemeral models as CTEs and
// fingerprints each node. It reports every error of every file at once,
// each as "file:line: message".
package compiler

import (
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/timings"
)

// Options are the inputs of a compile beyond the project itself.
type Options struct {
	Target       string                      // target name; "" means the project's default
	Vars         map[string]any              // --vars; they override the project's vars (a time.Time becomes a date or RFC 3339 string)
	Env          func(string) (string, bool) // env_var() lookup; nil means os.LookupEnv
	InvocationID string
	RunStartedAt time.Time // run_started_at; zero means now
	FullRefresh  bool
	// Existing reports whether a relation ("schema"."name") exists in the
	// database, for is_incremental(); nil means none exists.
	Existing func(relation string) bool
	// Query runs SQL for run_query(); nil makes run_query() an error.
	Query func(sql string) (*QueryResult, error)
	// Log receives the messages of log() and exceptions.warn(); nil drops them.
	Log func(msg string)
	// Volatile, when set, is told when a rendered template or a macro it
	// calls mentions a name of project.VolatileNames (run_started_at,
	// invocation_id): the compiled SQL then differs from one invocation
	// to the next. why names the template or macro.
	Volatile func(why string)
	Threads  int // render workers; 0 means GOMAXPROCS
}

// QueryResult is the result of one run_query() call.
type QueryResult struct {
	Columns []string
	Rows    [][]any
}

// unit is one model or singular test being compiled.
type unit struct {
	file  *project.SQLFile
	node  *manifest.Node
	props *project.ModelProps
	tpl   *template
	rel   relation // what ref() of this model renders as
	// rendered is the SQL of the final render, before ephemeral inlining.
	rendered string
	deps     map[manifest.NodeID]bool
	// macroFiles are the files of the project's macros its renders called
	// (written by one goroutine at a time: the one rendering the unit).
	macroFiles map[string]bool
	// varsRead are the variables its renders read with var() (written as
	// macroFiles is).
	varsRead map[string]bool
	diags    diag.List
	failed   bool
}

// compilation is the state of one Compile call. Its maps are written
// before each parallel phase and only read during it.
type compilation struct {
	p      *project.Project
	opts   Options
	vars   map[string]any
	target *project.Target
	base   *exec.Context
	macros map[string]*macroDef
	known  []string // names a template may use, for did-you-mean hints
	// macroConfig is set when some macro's text calls config(), in which
	// case every model needs a discovery render.
	macroConfig bool
	// extraTests are generic tests with SQL of their own by model name
	// (addGenericTests), expanded with the declared ones.
	extraTests map[string][]GenericTest
	// renamedTests counts the generated tests whose name was taken (see
	// generateTests).
	renamedTests int

	models       map[string]*unit // by name, disabled ones included
	modelList    []*unit          // in file order
	tests        []*unit
	seeds        map[string]*manifest.Node // enabled seeds by name
	sources      map[manifest.NodeID]*manifest.Node
	sourceTables map[string][]string // table names by source
	refNames     []string            // enabled models and seeds, for hints

	mu    sync.Mutex
	diags diag.List
}

func (c *compilation) errorf(pos diag.Pos, format string, args ...any) {
	c.mu.Lock()
	c.diags.Errorf(pos, format, args...)
	c.mu.Unlock()
}

// Compile compiles p. The manifest holds every enabled model, seed, source
// and singular test; it is returned even when the list has errors, but is
// then incomplete. A dependency cycle is an error naming its path.
func Compile(p *project.Project, opts Options) (*manifest.Manifest, diag.List) {
	done := timings.Start("compile: prepare")
	c := prepare(p, opts)
	done()

	// Phase 1: parse every model and test, collect config() calls, merge configs.
	all := append(append([]*unit(nil), c.modelList...), c.tests...)
	done = timings.Start("compile: discover")
	c.parallel(len(all), func(i int) { c.discover(all[i]) })
	c.indexRefs()
	done()

	// Phase 2: render every enabled unit with the graph known.
	var live []*unit
	for _, u := range all {
		if u.node.Config.Enabled && !u.failed {
			live = append(live, u)
		}
	}
	done = timings.Start("compile: render")
	c.parallel(len(live), func(i int) { c.finalRender(live[i]) })
	done()
	done = timings.Start("compile: tests")
	c.snapshotTests()
	gen := c.expandTests()
	c.parallel(len(gen), func(i int) { c.renderTest(gen[i]) })
	c.parseHooks()
	c.inlineEphemerals(append(live, gen...))
	c.compileUnitTests()
	done()

	timings.HeapProfile() // every template is parsed and rendered
	// No template is rendered again: the parsed templates and their tokens
	// (half the heap at 100,000 models) are left to the collector before
	// the manifest is built and encoded.
	for _, u := range all {
		u.tpl = nil
	}
	for _, u := range gen {
		u.tpl = nil
	}
	done = timings.Start("compile: manifest")
	m := c.manifest()
	c.checkCycles(m)
	c.checkStreams(m)
	done()
	for _, u := range all {
		c.diags.Append(u.diags)
	}
	c.diags.Sort()
	return m, c.diags
}

// prepare starts compiling p: macros and built-in tests parsed, sources
// and seeds built, a unit made for every model and singular test file.
func prepare(p *project.Project, opts Options) *compilation {
	c := newCompilation(p, opts)
	c.loadMacros()
	c.loadBuiltinTests()
	c.buildSources()
	c.prepareUnits()
	c.buildSeeds()
	return c
}

func newCompilation(p *project.Project, opts Options) *compilation {
	c := &compilation{
		p:            p,
		opts:         opts,
		models:       map[string]*unit{},
		seeds:        map[string]*manifest.Node{},
		sources:      map[manifest.NodeID]*manifest.Node{},
		sourceTables: map[string][]string{},
		macros:       map[string]*macroDef{},
	}
	if c.opts.RunStartedAt.IsZero() {
		c.opts.RunStartedAt = time.Now().UTC()
	}
	c.vars = map[string]any{}
	for k, v := range p.Vars {
		c.vars[k] = v
	}
	for k, v := range opts.Vars {
		c.vars[k] = normalizeVar(v)
	}
	c.target = c.resolveTarget()
	c.base = exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables)
	for name, fn := range globalFuncs {
		c.base.Set(name, fn)
	}
	c.base.Set("return", returnFunc)
	c.base.Set("none", nil) // Jinja spells None both ways; gonja parses only None
	c.base.Set("exceptions", map[string]any{
		"raise_compiler_error": raiseCompilerError,
		"warn":                 withState(warnFunc),
	})
	c.base.Set("target", map[string]any{
		"name": c.target.Name, "path": c.target.Path, "threads": c.target.Threads,
		"schema": "main", "type": "duckdb",
	})
	c.base.Set("run_started_at", datetime{c.opts.RunStartedAt})
	c.base.Set("invocation_id", opts.InvocationID)
	c.base.Set("flags", map[string]any{"FULL_REFRESH": opts.FullRefresh})
	// project_dir is the absolute project directory: DuckDB resolves reads
	// against it (file_search_path) but COPY … TO against the process cwd.
	c.base.Set("project_dir", p.Dir)
	return c
}

// resolveTarget picks the target named by Options.Target or the project's
// default; an unknown name is an error and falls back to a default target.
func (c *compilation) resolveTarget() *project.Target {
	name := c.opts.Target
	if name == "" {
		name = c.p.DefaultTarget
	}
	if t, ok := c.p.Targets[name]; ok && t != nil {
		return t
	}
	if c.opts.Target != "" || len(c.p.Targets) > 0 {
		names := make([]string, 0, len(c.p.Targets))
		for n := range c.p.Targets {
			names = append(names, n)
		}
		sort.Strings(names)
		c.errorf(diag.Pos{File: project.FileName}, "unknown target %q — targets in project.yaml: %s", name, strings.Join(names, ", "))
	}
	if name == "" {
		name = "dev"
	}
	return &project.Target{Name: name, Path: "target/" + c.p.Name + ".duckdb", Threads: 4}
}

func (c *compilation) lookupEnv(name string) (string, bool) {
	if c.opts.Env != nil {
		return c.opts.Env(name)
	}
	return os.LookupEnv(name)
}

// knownNames returns the names every template may use, sorted.
func (c *compilation) knownNames() []string { return c.known }

func (c *compilation) computeKnown() {
	names := append([]string(nil), gonjaGlobals...)
	for n := range globalFuncs {
		names = append(names, n)
	}
	names = append(names, "return", "exceptions", "target", "run_started_at", "invocation_id", "flags", "this", "execute", "project_dir")
	for n := range c.macros {
		names = append(names, n)
	}
	sort.Strings(names)
	c.known = names
}

// parallel runs fn for 0..n-1 on Options.Threads workers. A panic in fn is
// turned into an error diagnostic rather than crashing elt.
func (c *compilation) parallel(n int, fn func(i int)) {
	workers := c.opts.Threads
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > n {
		workers = n
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c.safely(func() { fn(i) })
			}
		}()
	}
	wg.Wait()
}

func (c *compilation) safely(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			c.errorf(diag.Pos{}, "internal error while compiling: %v — please report this with the model that triggers it", r)
		}
	}()
	fn()
}

// fail records a diagnostic on u and marks it failed.
func (u *unit) fail(d diag.Diagnostic) {
	u.diags.Add(d)
	u.failed = true
}

// normalizeVar turns time.Time values in Options.Vars into strings:
// "2006-01-02" for a midnight UTC time, RFC 3339 otherwise. Lists and maps
// are walked. (The CLI passes --vars as project.ParseMapping reads them,
// dates and times already strings, as written.)
func normalizeVar(v any) any {
	switch x := v.(type) {
	case time.Time:
		if x.Equal(x.Truncate(24*time.Hour)) && x.Location() == time.UTC {
			return x.Format("2006-01-02")
		}
		return x.Format(time.RFC3339)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeVar(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeVar(e)
		}
		return out
	}
	return v
}

package cmd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/elt-dev/elt/compiler"
	"github.com/elt-dev/elt/dag"
	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/partialparse"
	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/selector"
	"github.com/elt-dev/elt/timings"
	"github.com/elt-dev/elt/warehouse"
)

// dbMode says whether a command needs the target database.
type dbMode int

const (
	// noDB compiles without a database: no relation exists.
	noDB dbMode = iota
	// dbIfExists opens the database only when its file exists, so compile
	// knows which relations exist (is_incremental) without creating a file.
	dbIfExists
	// dbOpen opens (creating when missing) the database.
	dbOpen
	// dbMemory opens an empty in-memory database with the target's settings.
	dbMemory
)

// session is a loaded and compiled project, ready to act on. close
// releases the database.
type session struct {
	a            *app
	proj         *project.Project
	targetName   string
	target       *project.Target
	threads      int
	vars         map[string]any
	targetDir    string // <project>/target
	db           *warehouse.DB
	man          *manifest.Manifest
	graph        *dag.Graph // built by selectNodes for the first selector
	invocationID string
	started      time.Time

	inline bool // an inline model was added to the project's files
	// parse is what this compile records for the next one to reuse it;
	// nil when it is not recorded (inline SQL, --no-partial-parse).
	parse *parseRecord
	// reused is the previous compile, when this session reused it.
	reused *partialparse.Reuse
	// patched is how many nodes this session made again on top of the
	// previous compile (compiler.Patch); 0 when it compiled in full.
	patched int
	// patchedFrom is the previous compile this session patched, if any.
	patchedFrom *partialparse.Reuse
	// changed, for a patch, lists the nodes of the patched manifest that
	// are not patchedFrom's (an unchanged node is the same *Node); nil for
	// a full compile.
	changed []manifest.NodeID
}

// parseRecord is a compile's partial-parse inputs and observations.
type parseRecord struct {
	in            partialparse.Inputs
	rec           *partialparse.Recorder
	warnings      diag.List
	graphWarnings diag.List
}

// close closes the database when one is open.
func (s *session) close() {
	if s != nil && s.db != nil {
		defer timings.Start("close database")()
		s.db.Close()
		s.db = nil
	}
}

// load reads, compiles and checks the project named by the global flags.
// Every project problem is returned as one *diag.ListError (exit 2).
func (a *app) load(mode dbMode) (*session, error) {
	return a.loadWith(mode, "")
}

// inlineModel is the name of the model `show --inline` compiles its SQL as.
const inlineModel = "elt_inline_query"

// loadWith is load that, when inline is not empty, compiles inline as one
// more model, inlineModel, so ref(), source() and macros work in it.
func (a *app) loadWith(mode dbMode, inline string) (*session, error) {
	dir := a.opts.ProjectDir
	if _, err := os.Stat(filepath.Join(dir, project.FileName)); err != nil {
		return nil, usagef("%s", initHint(dir))
	}
	done := timings.Start("load project")
	proj, diags := project.Load(dir)
	done()
	if diags.HasErrors() || proj == nil {
		return nil, diags.Err()
	}
	a.printer().Diagnostics(diags) // warnings
	if inline != "" {
		proj.Models = append(append([]*project.SQLFile(nil), proj.Models...),
			&project.SQLFile{Path: "<inline>", Name: inlineModel, Content: inline})
	}
	s := &session{a: a, proj: proj, started: time.Now(), invocationID: a.runID(), inline: inline != ""}
	if err := s.resolveTarget(); err != nil {
		return nil, err
	}
	s.vars, _ = parseVars(a.opts.Vars) // validated by PersistentPreRunE
	s.vars = a.slotVars(s.vars)
	s.targetDir = filepath.Join(proj.Dir, "target")
	// A database file that does not exist yet is created only once the
	// project compiles: until then an in-memory database (equally empty)
	// answers is_incremental() and run_query().
	deferred := mode == dbOpen && s.dbFile() != "" && !exists(s.dbFile())
	if deferred {
		mode = dbMemory
	}
	if err := s.openDB(mode); err != nil {
		return nil, err
	}
	if err := s.compile(); err != nil {
		s.close()
		return nil, err
	}
	if deferred {
		s.close()
		if err := s.openDB(dbOpen); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// resolveTarget picks the target from --target or the project default.
func (s *session) resolveTarget() error {
	name := s.a.opts.Target
	if name == "" {
		name = s.proj.DefaultTarget
	}
	t := s.proj.Targets[name]
	if t == nil && name == "" && len(s.proj.Targets) == 0 {
		name = "dev"
		t = &project.Target{Name: name, Path: "target/" + s.proj.Name + ".duckdb", Threads: 4}
	}
	if t == nil {
		names := sortedKeys(s.proj.Targets)
		return usagef("target %q is not in %s — use one of: %s", name, project.FileName, strings.Join(names, ", "))
	}
	s.targetName, s.target = name, t
	s.threads = s.a.opts.Threads
	if s.threads == 0 {
		s.threads = t.Threads
	}
	if s.threads <= 0 {
		s.threads = 4
	}
	return nil
}

// dbPath returns the database path as the user wrote it, for messages.
func (s *session) dbPath() string {
	return filepath.ToSlash(s.target.Path)
}

// dbFile returns the absolute database file, or "" for ":memory:".
func (s *session) dbFile() string {
	if s.target.Path == warehouse.Memory {
		return ""
	}
	if filepath.IsAbs(s.target.Path) {
		return s.target.Path
	}
	return filepath.Join(s.proj.Dir, s.target.Path)
}

// settings returns the warehouse settings of the target.
//
// A target's threads are how many nodes run at once, not DuckDB's worker
// threads: DuckDB keeps its default, one worker per core, shared by every
// connection, unless the target's settings name threads. More workers than
// cores only add scheduling: on 2 cores, threads = 4 made a chain of 1,000
// small tables 25% slower.
func (s *session) settings() warehouse.Settings {
	return warehouse.Settings{
		MemoryLimit: s.target.MemoryLimit,
		Settings:    s.target.Settings,
		ProjectDir:  s.proj.Dir,
	}
}

// openDB opens the target database as mode asks.
func (s *session) openDB(mode dbMode) error {
	switch mode {
	case noDB:
		return nil
	case dbIfExists:
		f := s.dbFile()
		if f == "" {
			return nil
		}
		if !exists(f) {
			return nil
		}
		db, err := warehouse.Open(s.a.ctx, s.target.Path, s.settings())
		if err != nil {
			// Compiling does not need the database: say why is_incremental()
			// sees nothing and go on.
			s.a.printer().Errorf("warning: %v — compiling as if no relation existed", err)
			return nil
		}
		s.db = db
		return nil
	}
	path := s.target.Path
	if mode == dbMemory {
		path = warehouse.Memory
	}
	done := timings.Start("open database")
	db, err := warehouse.Open(s.a.ctx, path, s.settings())
	done()
	if err != nil {
		return err
	}
	s.db = db
	return nil
}

// compileOptions returns the compiler options of this invocation.
func (s *session) compileOptions() (compiler.Options, error) {
	opts := compiler.Options{
		Target:       s.targetName,
		Vars:         s.vars,
		Env:          os.LookupEnv,
		InvocationID: s.invocationID,
		RunStartedAt: s.started.UTC(),
		FullRefresh:  s.a.opts.FullRefresh,
		Threads:      s.threads,
	}
	if s.db == nil {
		return opts, nil
	}
	rels, err := s.db.Relations(s.a.ctx)
	if err != nil {
		return opts, fmt.Errorf("cannot list the relations of %s: %w", s.dbPath(), err)
	}
	opts.Existing = func(rel string) bool { _, ok := rels[rel]; return ok }
	db, ctx := s.db, s.a.ctx
	opts.Query = func(q string) (*compiler.QueryResult, error) {
		r, err := db.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		return &compiler.QueryResult{Columns: r.Columns, Rows: r.Rows}, nil
	}
	return opts, nil
}

// compile renders the project into a manifest and checks its graph.
func (s *session) compile() error {
	opts, err := s.compileOptions()
	if err != nil {
		return err
	}
	done := timings.Start("compile")
	m, diags := s.compileOrReuse(opts)
	done()
	if diags.HasErrors() {
		return diags.Err()
	}
	s.a.printer().Diagnostics(diags)
	m.Metadata.EltVersion = Version
	s.man = m
	// A cycle is a compile error (a reused compile had none), so the
	// graph is acyclic: selection and the runner need no second check.
	// selectNodes builds it when a selector needs one.
	return nil
}

// selectNodes applies --select (plus extra positional selectors) and
// --exclude, keeping only nodes whose resource type is in types (all when
// types is empty). The result is sorted.
func (s *session) selectNodes(extra []string, types ...manifest.ResourceType) ([]manifest.NodeID, error) {
	var state *manifest.Manifest
	if s.a.opts.State != "" {
		st, err := manifest.ReadFile(filepath.Join(s.a.opts.State, "manifest.json"))
		if err != nil {
			return nil, usagef("--state %s: %v — point --state at the target/ directory of a previous run", s.a.opts.State, err)
		}
		state = st
	}
	include, exclude := selectors(s.a.opts.Select, extra...), selectors(s.a.opts.Exclude)
	if s.graph == nil && len(include)+len(exclude) > 0 {
		done := timings.Start("graph")
		s.graph = selector.Graph(s.man)
		done()
	}
	done := timings.Start("select")
	res, err := selector.Resolve(s.man, s.graph, include, exclude, state)
	done()
	if err != nil {
		return nil, toUsage(err)
	}
	for _, t := range res.Unmatched {
		s.a.printer().Diagnostics(diag.List{diag.Warnf(diag.Pos{}, "the selector %q matches no node", t)})
	}
	return filterTypes(res.IDs, types), nil
}

// toUsage makes a selector error a usage error (exit 2), keeping
// diagnostics as they are.
func toUsage(err error) error {
	var le *diag.ListError
	var d diag.Diagnostic
	if errors.As(err, &le) || errors.As(err, &d) {
		return err
	}
	return &usageError{msg: err.Error()}
}

// newInvocationID returns a random UUID (version 4).
func newInvocationID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// ctx returns the invocation's context.
func (s *session) ctx() context.Context { return s.a.ctx }

// compileOrReuse compiles the project, or reuses the previous compile when
// partialparse finds nothing it depended on changed. A compile that may be
// reused next time is recorded by writeArtifacts.
func (s *session) compileOrReuse(opts compiler.Options) (*manifest.Manifest, diag.List) {
	if s.inline || s.a.opts.NoPartialParse {
		return compiler.Compile(s.proj, opts)
	}
	done := timings.Start("partial parse: fingerprint")
	in, err := partialparse.Fingerprint(s.proj, partialparse.Options{
		EltVersion: Version + " " + executableStamp(), ProjectDir: s.proj.Dir, Target: s.targetName, Threads: s.threads,
		Vars: s.vars, FullRefresh: s.a.opts.FullRefresh,
	})
	done()
	if err != nil {
		return compiler.Compile(s.proj, opts) // e.g. an unreadable seed: the compile reports it
	}
	var query func(string) (any, error)
	if q := opts.Query; q != nil {
		query = func(sql string) (any, error) { return q(sql) }
	}
	done = timings.Start("partial parse: lookup")
	r, patch := partialparse.Find(s.targetDir, in, opts.Env, opts.Existing, query)
	done()
	if r != nil && !patch {
		s.reused = r
		m := r.Manifest
		m.Metadata.ProjectDir = s.proj.Dir
		m.Metadata.InvocationID = opts.InvocationID
		m.Metadata.GeneratedAt = opts.RunStartedAt.UTC().Format(time.RFC3339)
		return m, r.Warnings
	}
	if r != nil {
		// The CLI gives the compiler no Log (log() output is dropped), so
		// a patch given up prints nothing the full compile prints again.
		done = timings.Start("partial parse: patch")
		rec := r.Recorder()
		m, diags, rendered := compiler.Patch(s.proj, recording(opts, rec), r.Manifest, r.Warnings,
			compiler.Changes{Props: r.ChangedProps, Macros: r.ChangedMacros, Vars: r.ChangedVars})
		done()
		if m != nil {
			s.patched, s.patchedFrom = rendered, r
			s.changed = []manifest.NodeID{}
			for id, n := range m.Nodes {
				if r.Manifest.Nodes[id] != n {
					s.changed = append(s.changed, id)
				}
			}
			s.parse = &parseRecord{in: in, rec: rec, warnings: diags}
			return m, diags
		}
	}
	rec := &partialparse.Recorder{}
	m, diags := compiler.Compile(s.proj, recording(opts, rec))
	s.parse = &parseRecord{in: in, rec: rec, warnings: diags}
	return m, diags
}

// recording returns opts with what a compile asks of its environment
// recorded by rec, for partial parsing.
func recording(opts compiler.Options, rec *partialparse.Recorder) compiler.Options {
	opts.Volatile = rec.MarkVolatile
	opts.Env = rec.Env(opts.Env)
	opts.Existing = rec.Existing(opts.Existing)
	if q := opts.Query; q != nil {
		opts.Query = func(sql string) (*compiler.QueryResult, error) {
			res, err := q(sql)
			rec.RecordQuery(sql, res, err)
			return res, err
		}
	}
	return opts
}

// writeArtifacts writes target/manifest.json and target/compiled/, then
// records the compile for partial parsing. A reused compile's files are
// already there: only the manifest's metadata is rewritten, and compiled
// files someone removed or resized are written again (a same-size edit by
// hand stays until a full compile or a change of that node).
func (s *session) writeArtifacts() error {
	if s.reused != nil {
		s.a.printer().Diagnostics(s.reused.GraphWarnings)
		defer timings.Start("artifacts: reused manifest")()
		if err := compiler.RestoreCompiled(s.man, s.targetDir); err != nil {
			return err
		}
		s.reused.Manifest.Metadata.EltVersion = Version
		return s.reused.WriteManifest(s.targetDir)
	}
	// The last record goes before any compiled file is written: one that
	// outlived a compile failing half way would describe files that are
	// no longer its own, which a later reuse or patch checks by size only.
	if err := partialparse.Forget(s.targetDir); err != nil {
		return err
	}
	// The graph's warnings are counted while the artifacts are written
	// (both only read the manifest): 0.2–0.35 s at 100,000 views.
	graph := make(chan diag.List, 1)
	go func() { graph <- s.graphWarnings() }()
	if s.parse == nil {
		_, err := compiler.WriteArtifacts(s.man, s.targetDir, nil, nil)
		s.a.printer().Diagnostics(<-graph)
		return err
	}
	enc := make(chan partialparse.Encoded, 1)
	go func() { enc <- partialparse.EncodeManifest(s.man, s.targetDir) }()
	var prior *manifest.Prior
	if r := s.patchedFrom; r != nil {
		prior = r.Prior(s.targetDir, s.man) // WriteArtifacts closes its file
	}
	data, err := compiler.WriteArtifacts(s.man, s.targetDir, prior, s.changed) // nil: every compiled file is checked
	encoded := <-enc
	s.parse.graphWarnings = <-graph
	s.a.printer().Diagnostics(s.parse.graphWarnings)
	if err != nil {
		encoded.Discard()
		return err
	}
	if err := partialparse.Save(s.targetDir, s.parse.in, s.parse.rec, encoded, data, s.parse.warnings, s.parse.graphWarnings); err != nil {
		s.a.printer().Errorf("warning: could not record the compile for partial parsing: %v", err)
	}
	return nil
}

// printGraphWarnings prints the warnings about the whole graph, for the
// commands that bind the project's views without writing its artifacts
// (show, lineage): those a reused compile recorded, or counted now.
func (s *session) printGraphWarnings() {
	if s.reused != nil {
		s.a.printer().Diagnostics(s.reused.GraphWarnings)
		return
	}
	s.a.printer().Diagnostics(s.graphWarnings())
}

// graphWarnings returns the warnings about the whole graph of the
// manifest this session compiled (views nested so deep that DuckDB would
// take seconds or hours to bind them): those its previous compile recorded
// when a patch kept the graph, or counted anew.
func (s *session) graphWarnings() diag.List {
	if r := s.patchedFrom; r != nil && sameBindGraph(r.Manifest, s.man, s.changed) {
		return r.GraphWarnings
	}
	return manifest.CheckViewNesting(s.man)
}

// sameBindGraph reports whether the patched manifest m binds its views as
// the previous compile old did: the same nodes, and each of the changed
// ones with the same kind, materialization, position and dependencies. Then
// old's graph warnings hold for m, without counting 100,000 views again.
func sameBindGraph(old, m *manifest.Manifest, changed []manifest.NodeID) bool {
	if len(old.Nodes) != len(m.Nodes) {
		return false
	}
	for _, id := range changed {
		n, o := m.Nodes[id], old.Nodes[id]
		if o == nil || n.ResourceType != o.ResourceType || n.Config.Materialized != o.Config.Materialized ||
			n.Pos != o.Pos || !slices.Equal(n.DependsOn, o.DependsOn) {
			return false
		}
	}
	return true
}

// executableStamp identifies the running binary by its size and
// modification time, so a rebuilt elt (its templates and compiler may have
// changed without a new Version) never reuses an older binary's compile.
func executableStamp() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown"
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%d-%d", fi.Size(), fi.ModTime().UnixNano())
}

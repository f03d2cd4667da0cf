package compiler

// A randomized differential test of Patch: generated projects (models in
// folders, refs, every materialization, folder defaults, properties files
// with tests and name clashes, macros, singular tests, seeds, vars) and
// generated edits of every kind partial parsing takes, each checked
// against a full compile as scenario and comparePatch do, and through the
// record on disk (Save, Find, Patch of the decoded manifest, encoding with
// the last manifest.json as Prior).

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/partialparse"
	"github.com/elt-dev/elt/project"
)

// ---------- differential check ----------

type fzOutcome int

const (
	fzBaseBad fzOutcome = iota
	fzLoadBad
	fzNotTried
	fzGaveUp
	fzPatched
	fzMismatch
)

func writeFiles(t *testing.T, dir string, old, files map[string]string) {
	for rel := range old {
		if _, ok := files[rel]; !ok {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for rel, text := range files {
		if old[rel] == text {
			continue
		}
		writeText(t, filepath.Join(dir, filepath.FromSlash(rel)), text)
	}
}

func comparePatchText(got *manifest.Manifest, gotDiags diag.List, want *manifest.Manifest, wantDiags diag.List) string {
	wantJSON, err := manifest.Encode(want)
	if err != nil {
		return "encode want: " + err.Error()
	}
	gotJSON, err := manifest.Encode(got)
	if err != nil {
		return "encode got: " + err.Error()
	}
	var out strings.Builder
	if string(gotJSON) != string(wantJSON) {
		out.WriteString("manifest differs:\n")
		if d := diffLines(render(want, wantDiags), render(got, gotDiags)); d != "" {
			i := strings.Index(d, "--- full output")
			if i > 0 {
				d = d[:i]
			}
			out.WriteString(d)
		} else {
			d := diffLines(string(wantJSON), string(gotJSON))
			i := strings.Index(d, "--- full output")
			if i > 0 {
				d = d[:i]
			}
			out.WriteString("json: " + d)
		}
	}
	ids := make([]string, 0)
	for id := range want.Nodes {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	for _, id := range ids {
		n := want.Nodes[manifest.NodeID(id)]
		if g := got.Nodes[manifest.NodeID(id)]; g != nil && !slices.Equal(g.MacroFiles, n.MacroFiles) {
			fmt.Fprintf(&out, "%s: macro files %v, want %v\n", id, g.MacroFiles, n.MacroFiles)
		}
	}
	if g, w := diagText(gotDiags), diagText(wantDiags); g != w {
		fmt.Fprintf(&out, "diagnostics differ:\n got %s\nwant %s\n", g, w)
	}
	return out.String()
}

func fzOptions(r *rand.Rand) Options {
	o := fixedOptions()
	if r.Intn(2) == 0 {
		o.Existing = func(string) bool { return true }
	}
	return o
}

type fzCase struct {
	seed          int64
	edits         []string
	before, after map[string]string
	detail        string
}

var fzLastEdits []string
var fzGobStats [4]int
var fzChain = os.Getenv("ELT_FUZZ_NOCHAIN") == ""
var fzChainStats = map[fzOutcome]int{}

func runFuzzCase(t *testing.T, seed int64) (fzOutcome, *fzCase) {
	r := rand.New(rand.NewSource(seed))
	g := &fzGen{r: r}
	p := g.project()
	opts := fzOptions(r)
	before := p.files()
	dir := t.TempDir()
	writeFiles(t, dir, nil, before)
	q, errs := project.Load(dir)
	if errs.HasErrors() {
		return fzBaseBad, nil
	}
	prev, prevDiags := Compile(q, opts)
	if prevDiags.HasErrors() {
		return fzBaseBad, nil
	}
	rounds := 1
	if fzChain {
		rounds = 1 + r.Intn(3)
	}
	newNames := 0
	var allEdits []string
	var outcome fzOutcome
	first := before
	for round := 0; round < rounds; round++ {
		e := p.clone()
		var edits []string
		for k := 1 + r.Intn(3); k > 0; k-- {
			edits = append(edits, g.edit(e, &newNames))
		}
		allEdits = append(allEdits, fmt.Sprintf("round %d: %v", round, edits))
		if round == 0 {
			fzLastEdits = edits
		}
		after := e.files()
		writeFiles(t, dir, before, after)
		edited, errs := project.Load(dir)
		if errs.HasErrors() {
			if round == 0 {
				return fzLoadBad, nil
			}
			return outcome, nil
		}
		was, now := inputsOf(t, q), inputsOf(t, edited)
		tried := was.ModelKey == now.ModelKey && was.MacroConfig == now.MacroConfig
		changedProps, ok := partialparse.PropsChanges(was.Props, now.Props)
		tried = tried && ok
		changedMacros, ok := partialparse.MacroChanges(was.Macros, now.Macros)
		tried = tried && ok
		changedVars := partialparse.VarChanges(was.Vars, now.Vars)
		var got *manifest.Manifest
		var gotDiags diag.List
		if tried {
			got, gotDiags, _ = Patch(edited, opts, prev, warningsOf(prevDiags), Changes{Props: changedProps, Macros: changedMacros, Vars: changedVars})
		}
		want, wantDiags := Compile(edited, opts)
		res := fzNotTried
		switch {
		case !tried:
		case got == nil:
			res = fzGaveUp
		default:
			res = fzPatched
			c := &fzCase{seed: seed, edits: allEdits, before: first, after: after}
			if wantDiags.HasErrors() {
				c.detail = fmt.Sprintf("round %d: patched, but a full compile fails: %s", round, diagText(wantDiags))
				return fzMismatch, c
			}
			if d := comparePatchText(got, gotDiags, want, wantDiags); d != "" {
				c.detail = fmt.Sprintf("round %d: %s", round, d)
				return fzMismatch, c
			}
			if round == 0 {
				if d := gobPipeline(t, q, edited, opts, want); d != "" {
					c.detail = "gob pipeline: " + d
					return fzMismatch, c
				}
			}
		}
		if round == 0 {
			outcome = res
		} else {
			fzChainStats[res]++
		}
		if wantDiags.HasErrors() {
			return outcome, nil // no record to patch next
		}
		if got != nil {
			prev, prevDiags = got, gotDiags
		} else {
			prev, prevDiags = want, wantDiags
		}
		p, q, before = e, edited, after
	}
	return outcome, nil
}

// gobPipeline compiles base as elt does with a record (Recorder, Save),
// finds the record for edited with partialparse.Find, patches the decoded
// manifest and encodes it with the Prior, as cmd does; the bytes must be
// want's.
func gobPipeline(t *testing.T, base, edited *project.Project, opts Options, want *manifest.Manifest) string {
	exists := opts.Existing
	env := opts.Env
	rec := &partialparse.Recorder{}
	o := opts
	o.Existing = rec.Existing(exists)
	o.Env = rec.Env(env)
	prev, diags := Compile(base, o)
	if diags.HasErrors() {
		return "base compile failed"
	}
	target := t.TempDir()
	enc, err := manifest.EncodeChunks(prev, nil)
	if err != nil {
		return err.Error()
	}
	if err := os.WriteFile(filepath.Join(target, "manifest.json"), enc.Bytes(), 0o644); err != nil {
		return err.Error()
	}
	inBase, _ := partialparse.Fingerprint(base, partialparse.Options{})
	if err := partialparse.Save(target, inBase, rec, partialparse.EncodeManifest(prev, target), enc, warningsOf(diags), nil); err != nil {
		return "save: " + err.Error()
	}
	inNow, _ := partialparse.Fingerprint(edited, partialparse.Options{})
	r, patch := partialparse.Find(target, inNow, env, exists, nil)
	fzGobStats[0]++
	if r == nil || !patch {
		return "" // refused (e.g. most nodes call the changed macros)
	}
	rec2 := r.Recorder()
	o2 := opts
	o2.Existing = rec2.Existing(exists)
	o2.Env = rec2.Env(env)
	m, _, _ := Patch(edited, o2, r.Manifest, r.Warnings, Changes{Props: r.ChangedProps, Macros: r.ChangedMacros, Vars: r.ChangedVars})
	fzGobStats[1]++
	if m == nil {
		return "" // gave up here, though the in-memory patch did not
	}
	fzGobStats[2]++
	prior := r.Prior(target, m)
	if prior != nil {
		fzGobStats[3]++
	}
	got, err := manifest.EncodeChunks(m, prior)
	if prior != nil {
		if f, ok := prior.File.(*os.File); ok {
			f.Close()
		}
	}
	if err != nil {
		return err.Error()
	}
	wantJSON, _ := manifest.Encode(want)
	if string(got.Bytes()) != string(wantJSON) {
		d := diffLines(string(wantJSON), string(got.Bytes()))
		if i := strings.Index(d, "--- full output"); i > 0 {
			d = d[:i]
		}
		return "manifest.json differs: " + d
	}
	for id, n := range want.Nodes {
		if g := m.Nodes[id]; g != nil && !slices.Equal(g.MacroFiles, n.MacroFiles) {
			return fmt.Sprintf("%s: macro files %v, want %v", id, g.MacroFiles, n.MacroFiles)
		}
	}
	return ""
}

func fileDiff(before, after map[string]string) string {
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		a, inA := before[k]
		c, inC := after[k]
		switch {
		case !inC:
			fmt.Fprintf(&b, "--- removed %s\n", k)
		case !inA:
			fmt.Fprintf(&b, "+++ added %s:\n%s", k, c)
		case a != c:
			fmt.Fprintf(&b, "~~~ changed %s:\n%s=> now:\n%s", k, a, c)
		}
	}
	return b.String()
}

// TestFuzzPatch runs 500 generated cases (seeds 0–499), in seconds; more
// by hand: ELT_FUZZ_N=6000 ELT_FUZZ_START=100000 go test ./compiler -run
// TestFuzzPatch -v (ELT_FUZZ_VERBOSE=1 prints failing projects and edits,
// ELT_FUZZ_KINDS=1 the outcomes by kind of edit).
func TestFuzzPatch(t *testing.T) {
	n := 500
	if s := os.Getenv("ELT_FUZZ_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	start := int64(0)
	if s := os.Getenv("ELT_FUZZ_START"); s != "" {
		start, _ = strconv.ParseInt(s, 10, 64)
	}
	counts := map[fzOutcome]int{}
	byKind := map[string]map[fzOutcome]int{}
	var bad []*fzCase
	for i := 0; i < n; i++ {
		fzLastEdits = nil
		out, c := runFuzzCase(t, start+int64(i))
		counts[out]++
		for _, e := range fzLastEdits {
			k := strings.Fields(e)[0]
			if len(fzLastEdits) > 1 {
				k = "multi:" + k
			}
			if byKind[k] == nil {
				byKind[k] = map[fzOutcome]int{}
			}
			byKind[k][out]++
		}
		if c != nil {
			bad = append(bad, c)
		}
	}
	t.Logf("iterations %d: base invalid %d, edit breaks load %d, not tried %d, gave up %d, patched %d, MISMATCH %d",
		n, counts[fzBaseBad], counts[fzLoadBad], counts[fzNotTried], counts[fzGaveUp], counts[fzPatched], counts[fzMismatch])
	t.Logf("later chained rounds: not tried %d, gave up %d, patched %d", fzChainStats[fzNotTried], fzChainStats[fzGaveUp], fzChainStats[fzPatched])
	t.Logf("gob pipeline: tried %d, found %d, patched %d, with prior %d", fzGobStats[0], fzGobStats[1], fzGobStats[2], fzGobStats[3])
	if os.Getenv("ELT_FUZZ_KINDS") != "" {
		var ks []string
		for k := range byKind {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			c := byKind[k]
			t.Logf("%-28s load-bad %4d not-tried %4d gave-up %4d patched %4d mismatch %d", k, c[fzLoadBad], c[fzNotTried], c[fzGaveUp], c[fzPatched], c[fzMismatch])
		}
	}
	sigs := map[string]int{}
	shown := 0
	for _, c := range bad {
		sig := c.detail
		if i := strings.Index(sig, "\n"); i > 0 {
			sig = sig[:min(len(sig), 200)]
		}
		sigs[sig]++
		if shown < 6 && os.Getenv("ELT_FUZZ_VERBOSE") != "" {
			shown++
			var files []string
			for k := range c.before {
				files = append(files, k)
			}
			sort.Strings(files)
			var b strings.Builder
			for _, f := range files {
				fmt.Fprintf(&b, "=== %s\n%s", f, c.before[f])
			}
			t.Logf("seed %d edits %v\n%s\nBEFORE:\n%s\nEDIT:\n%s", c.seed, c.edits, c.detail, b.String(), fileDiff(c.before, c.after))
		}
	}
	for _, c := range bad {
		t.Errorf("seed %d edits %v: %s", c.seed, c.edits, strings.SplitN(c.detail, "\n", 4))
	}
}

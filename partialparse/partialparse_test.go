package partialparse

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// saved writes a record for a one-node manifest in a temporary target
// directory and returns the directory and the compile's inputs.
func saved(t *testing.T) (string, Inputs) {
	t.Helper()
	dir := t.TempDir()
	p := &project.Project{Dir: dir, Inputs: []project.InputFile{{Path: "project.yaml"}}}
	in, err := Fingerprint(p, Options{EltVersion: "test", ProjectDir: dir, Target: "dev", Vars: map[string]any{"a": []any{1, "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := &manifest.Manifest{Nodes: map[manifest.NodeID]*manifest.Node{"model.a": {ID: "model.a", Name: "a",
		Config: manifest.Config{Meta: map[string]any{"owner": "x", "n": 2}}}}, Vars: map[string]any{"a": []any{1, "x"}},
		Metadata: manifest.Metadata{InvocationID: "00000000", GeneratedAt: "2026-01-01T00:00:00Z"}}
	rec := &Recorder{}
	rec.Env(func(string) (string, bool) { return "v", true })("E")
	rec.Existing(func(string) bool { return false })(`"main"."a"`)
	warn := diag.List{diag.Warnf(diag.Pos{File: "models/a.yml", Line: 3}, "careful")}
	target := saveCompile(t, dir, in, rec, m, warn)
	noTemporaryFiles(t, target)
	return target, in
}

// saveCompile writes m's manifest.json in dir/target and records the
// compile of in there, as a compile would; it returns the target directory.
func saveCompile(t *testing.T, dir string, in Inputs, rec *Recorder, m *manifest.Manifest, warnings diag.List) string {
	t.Helper()
	enc, err := manifest.EncodeChunks(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "manifest.json"), enc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	graphWarnings := diag.List{diag.Warnf(diag.Pos{File: "models/b.sql", Line: 1}, "nested deep")}
	if err := Save(target, in, rec, EncodeManifest(m, target), enc, warnings, graphWarnings); err != nil {
		t.Fatal(err)
	}
	return target
}

func TestLookup(t *testing.T) {
	env := func(string) (string, bool) { return "v", true }
	none := func(string) bool { return false }
	t.Run("reused", func(t *testing.T) {
		target, in := saved(t)
		r := Lookup(target, in, env, none, nil)
		if r == nil {
			t.Fatal("not reused")
		}
		if r.Manifest.Nodes["model.a"] == nil || r.Manifest.Nodes["model.a"].Config.Meta["n"] != 2 {
			t.Fatalf("manifest not restored with its types: %+v", r.Manifest.Nodes["model.a"])
		}
		if len(r.Warnings) != 1 || r.Warnings[0].Error() != "models/a.yml:3: warning: careful" {
			t.Fatalf("warnings = %v", r.Warnings)
		}
		if len(r.GraphWarnings) != 1 || r.GraphWarnings[0].Error() != "models/b.sql:1: warning: nested deep" {
			t.Fatalf("graph warnings = %v", r.GraphWarnings)
		}
	})
	refused := map[string]func(target string, in *Inputs) (func(string) (string, bool), func(string) bool){
		"other key": func(_ string, in *Inputs) (func(string) (string, bool), func(string) bool) {
			in.Key += "x"
			return env, none
		},
		"volatile": func(_ string, in *Inputs) (func(string) (string, bool), func(string) bool) {
			in.Volatile = "x"
			return env, none
		},
		"env changed": func(string, *Inputs) (func(string) (string, bool), func(string) bool) {
			return func(string) (string, bool) { return "w", true }, none
		},
		"env unset": func(string, *Inputs) (func(string) (string, bool), func(string) bool) {
			return func(string) (string, bool) { return "", false }, none
		},
		"relation appeared": func(string, *Inputs) (func(string) (string, bool), func(string) bool) {
			return env, func(string) bool { return true }
		},
		"manifest edited": func(target string, _ *Inputs) (func(string) (string, bool), func(string) bool) {
			f, _ := os.OpenFile(filepath.Join(target, "manifest.json"), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString(" ")
			f.Close()
			return env, none
		},
		"record truncated": func(target string, _ *Inputs) (func(string) (string, bool), func(string) bool) {
			p := filepath.Join(target, FileName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
			return env, none
		},
		"record garbage": func(target string, _ *Inputs) (func(string) (string, bool), func(string) bool) {
			os.WriteFile(filepath.Join(target, FileName), []byte("\xff\xffgarbage"), 0o644)
			return env, none
		},
		"body replaced": func(target string, _ *Inputs) (func(string) (string, bool), func(string) bool) {
			p := filepath.Join(target, BodyName)
			b, _ := os.ReadFile(p)
			os.Remove(p)
			os.WriteFile(p, b, 0o644) // same bytes, another file
			return env, none
		},
		"manifest rewritten, same size": func(target string, _ *Inputs) (func(string) (string, bool), func(string) bool) {
			p := filepath.Join(target, "manifest.json")
			b, _ := os.ReadFile(p)
			os.Remove(p)
			os.WriteFile(p, b, 0o644)
			return env, none
		},
	}
	for name, change := range refused {
		t.Run(name, func(t *testing.T) {
			target, in := saved(t)
			e, x := change(target, &in)
			if r := Lookup(target, in, e, x, nil); r != nil {
				t.Fatal("reused")
			}
		})
	}
}

// TestLookupReplaysQueries: a compile that ran run_query() is reused only
// while the query returns what it returned then.
func TestLookupReplaysQueries(t *testing.T) {
	target, in := saved(t)
	rec := &Recorder{}
	rec.Env(func(string) (string, bool) { return "v", true })("E")
	rec.RecordQuery("select max(d) from t", [][]any{{"2025-01-01"}}, nil)
	m := &manifest.Manifest{Nodes: map[manifest.NodeID]*manifest.Node{}, Metadata: manifest.Metadata{InvocationID: "x"}}
	enc, _ := manifest.EncodeChunks(m, nil)
	os.WriteFile(filepath.Join(target, "manifest.json"), enc.Bytes(), 0o644)
	if err := Save(target, in, rec, EncodeManifest(m, target), enc, nil, nil); err != nil {
		t.Fatal(err)
	}
	env := func(string) (string, bool) { return "v", true }
	answer := func(v string) func(string) (any, error) {
		return func(sql string) (any, error) {
			if sql != "select max(d) from t" {
				t.Fatalf("query %q", sql)
			}
			return [][]any{{v}}, nil
		}
	}
	if Lookup(target, in, env, nil, answer("2025-01-01")) == nil {
		t.Fatal("not reused with the same answer")
	}
	if Lookup(target, in, env, nil, answer("2025-01-02")) != nil {
		t.Fatal("reused with another answer")
	}
	if Lookup(target, in, env, nil, nil) != nil {
		t.Fatal("reused without a database to ask")
	}
}

// TestVolatileCompileLeavesNoRecord: Save of a compile that rendered
// invocation_id (or whose run_query failed) removes the earlier record.
func TestVolatileCompileLeavesNoRecord(t *testing.T) {
	target, in := saved(t)
	rec := &Recorder{}
	rec.MarkVolatile("models/a.sql mentions invocation_id")
	m := &manifest.Manifest{Nodes: map[manifest.NodeID]*manifest.Node{"model.a": {ID: "model.a", Name: "a"}}}
	if err := Save(target, in, rec, EncodeManifest(m, target), nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FileName, BodyName} {
		if _, err := os.Stat(filepath.Join(target, name)); !os.IsNotExist(err) {
			t.Fatalf("%s kept: %v", name, err)
		}
	}
	noTemporaryFiles(t, target)
}

// noTemporaryFiles fails t when dir holds a temporary file of the record.
func noTemporaryFiles(t *testing.T, dir string) {
	t.Helper()
	tmp, err := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if err != nil || len(tmp) > 0 {
		t.Fatalf("temporary files left in %s: %v %v", dir, tmp, err)
	}
}

// TestWriteManifestInPlace: a reuse gives manifest.json this invocation's
// metadata, byte for byte what Encode writes, and stays reusable.
func TestWriteManifestInPlace(t *testing.T) {
	env := func(string) (string, bool) { return "v", true }
	none := func(string) bool { return false }
	for name, c := range map[string]struct {
		id      string
		inPlace bool
	}{"same length": {"a1b2c3d4", true}, "longer": {"a1b2c3d4-and-more", false}} {
		t.Run(name, func(t *testing.T) {
			target, in := saved(t)
			before, _ := statID(filepath.Join(target, "manifest.json"))
			r := Lookup(target, in, env, none, nil)
			if r == nil {
				t.Fatal("not reused")
			}
			r.Manifest.Metadata.InvocationID = c.id
			r.Manifest.Metadata.GeneratedAt = "2026-11-25T17:00:00Z"
			if err := r.WriteManifest(target); err != nil {
				t.Fatal(err)
			}
			want, err := manifest.Encode(r.Manifest)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(filepath.Join(target, "manifest.json"))
			if string(got) != string(want) {
				t.Fatalf("manifest.json:\n got %s\nwant %s", got, want)
			}
			after, _ := statID(filepath.Join(target, "manifest.json"))
			if inPlace := after.Inode == before.Inode; inPlace != c.inPlace {
				t.Errorf("written in place = %v, want %v", inPlace, c.inPlace)
			}
			if Lookup(target, in, env, none, nil) == nil {
				t.Fatal("not reusable after the rewrite")
			}
		})
	}
}

// TestSweepTemporary: the temporary files an elt killed mid-write left
// behind are removed once they are an hour old; younger ones, possibly
// another elt's in progress, and the record itself stay.
func TestSweepTemporary(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	files := map[string]time.Duration{ // name → age
		BodyName + ".123.tmp":  2 * time.Hour,
		FileName + ".456.tmp":  2 * time.Hour,
		BodyName + ".789.tmp":  time.Minute,
		BodyName:               2 * time.Hour,
		"manifest.json.tmp":    2 * time.Hour, // compiler.WriteArtifacts' own, overwritten
		"manifest.json.42.tmp": 2 * time.Hour, // Reuse.WriteManifest's
	}
	for name, age := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	sweepTemporary(dir, now)
	for name, age := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		gone := os.IsNotExist(err)
		want := strings.Count(name, ".") == 3 && strings.HasSuffix(name, ".tmp") && age > time.Hour
		if gone != want {
			t.Errorf("%s (age %v): removed = %v, want %v", name, age, gone, want)
		}
	}
}

// TestModelKey: ModelKey ignores the text of model files, and only that:
// their paths, every other file and the options count.
func TestModelKey(t *testing.T) {
	sum := func(s string) [32]byte { return sha256.Sum256([]byte(s)) }
	build := func(edit func(p *project.Project)) *project.Project {
		p := &project.Project{Dir: t.TempDir(),
			Models: []*project.SQLFile{{Path: "models/a.sql"}, {Path: "models/b.sql"}},
			Inputs: []project.InputFile{{Path: "macros/m.sql", SHA256: sum("m")}, {Path: "models/a.sql", SHA256: sum("a")},
				{Path: "models/b.sql", SHA256: sum("b")}, {Path: "models/s.yml", SHA256: sum("s")}, {Path: "project.yaml", SHA256: sum("p")},
				{Path: "tests/t.sql", SHA256: sum("t")}},
			Tests:      []*project.SQLFile{{Path: "tests/t.sql"}},
			Macros:     []*project.SQLFile{{Path: "macros/m.sql", Content: "{% macro m() %}1{% endmacro %}"}},
			PropsFiles: []string{"models/s.yml"}}
		if edit != nil {
			edit(p)
		}
		return p
	}
	opts := Options{EltVersion: "test", Target: "dev"}
	base, err := Fingerprint(build(nil), opts)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                 string
		edit                 func(p *project.Project)
		opts                 Options
		sameKey, sameModelKy bool
	}{
		{"nothing", nil, opts, true, true},
		{"a model's text", func(p *project.Project) { p.Inputs[1].SHA256 = sum("a2") }, opts, false, true},
		{"a macro's text", func(p *project.Project) { p.Inputs[0].SHA256 = sum("m2") }, opts, false, true},
		{"a macro renamed", func(p *project.Project) { p.Macros[0].Path, p.Inputs[0].Path = "macros/n.sql", "macros/n.sql" }, opts, false, false},
		// models: <project name>: is the root until a folder of that name
		// exists (even an empty one).
		{"a folder of the project's name", func(p *project.Project) { p.RootsByName = []string{"models"} }, opts, false, false},
		{"a singular test's text", func(p *project.Project) { p.Inputs[5].SHA256 = sum("t2") }, opts, false, true},
		{"a properties file's text", func(p *project.Project) { p.Inputs[3].SHA256 = sum("s2") }, opts, false, true},
		{"a properties file renamed", func(p *project.Project) { p.PropsFiles[0], p.Inputs[3].Path = "models/t.yml", "models/t.yml" }, opts, false, false},
		// project.yaml's settings (all but its vars) are in ModelKey, its
		// variables in Vars.
		{"project.yaml's settings", func(p *project.Project) { p.Inputs[4].SHA256, p.SettingsSHA256 = sum("p2"), sum("s2") }, opts, false, false},
		{"project.yaml's variables", func(p *project.Project) { p.Inputs[4].SHA256 = sum("p2") }, opts, false, true},
		// A patch takes model files added and removed.
		{"a model renamed", func(p *project.Project) { p.Models[1].Path, p.Inputs[2].Path = "models/c.sql", "models/c.sql" }, opts, false, true},
		{"a model removed", func(p *project.Project) {
			p.Models = p.Models[:1]
			p.Inputs = append(p.Inputs[:2:2], p.Inputs[3:]...)
		}, opts, false, true},
		{"the target", nil, Options{EltVersion: "test", Target: "prod"}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := Fingerprint(build(c.edit), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if (in.Key == base.Key) != c.sameKey || (in.ModelKey == base.ModelKey) != c.sameModelKy {
				t.Fatalf("same Key %v (want %v), same ModelKey %v (want %v)",
					in.Key == base.Key, c.sameKey, in.ModelKey == base.ModelKey, c.sameModelKy)
			}
		})
	}
}

// TestMacroChanges: the macro files whose digest changed are listed,
// sorted; other files than before refuse a patch. Fingerprint tells
// whether any macro file's text holds "config(".
func TestMacroChanges(t *testing.T) {
	was := map[string]string{"macros/a.sql": "1", "macros/b.sql": "2", "macros/c.sql": "3"}
	now := map[string]string{"macros/a.sql": "1", "macros/b.sql": "4", "macros/c.sql": "5"}
	if changed, ok := MacroChanges(was, now); !ok || !reflect.DeepEqual(changed, []string{"macros/b.sql", "macros/c.sql"}) {
		t.Fatalf("MacroChanges = %v, %v", changed, ok)
	}
	if changed, ok := MacroChanges(was, was); !ok || changed != nil {
		t.Fatalf("MacroChanges of the same files = %v, %v", changed, ok)
	}
	other := map[string]string{"macros/a.sql": "1", "macros/b.sql": "2", "macros/d.sql": "3"}
	if _, ok := MacroChanges(was, other); ok {
		t.Fatal("MacroChanges takes other files")
	}
	for _, c := range []struct {
		text string
		want bool
	}{{"{% macro m() %}1{% endmacro %}", false}, {"{% macro m() %}{{ config(materialized='table') }}{% endmacro %}", true}} {
		p := &project.Project{Dir: t.TempDir(), Macros: []*project.SQLFile{{Path: "macros/m.sql", Content: c.text}},
			Inputs: []project.InputFile{{Path: "macros/m.sql", SHA256: sha256.Sum256([]byte(c.text))}}}
		in, err := Fingerprint(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if in.MacroConfig != c.want || in.Macros["macros/m.sql"] == "" {
			t.Fatalf("%s: MacroConfig %v (want %v), Macros %v", c.text, in.MacroConfig, c.want, in.Macros)
		}
	}
}

// TestMacroPatchRefusedForMostNodes: a macro file's change is handed to
// a patch, with the files that changed, unless more than half of the
// recorded nodes called it: then nothing is found, and the project
// compiles in full without reading the recorded manifest.
func TestMacroPatchRefusedForMostNodes(t *testing.T) {
	for _, c := range []struct {
		callers int
		patch   bool
	}{{1, true}, {2, true}, {3, false}} {
		dir := t.TempDir()
		macro := func(text string) *project.Project {
			return &project.Project{Dir: dir, Macros: []*project.SQLFile{{Path: "macros/m.sql", Content: text}},
				Inputs: []project.InputFile{{Path: "macros/m.sql", SHA256: sha256.Sum256([]byte(text))}, {Path: "project.yaml"}}}
		}
		in, err := Fingerprint(macro("{% macro m() %}1{% endmacro %}"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := &manifest.Manifest{Nodes: map[manifest.NodeID]*manifest.Node{}}
		for i := range 4 {
			n := &manifest.Node{ID: manifest.ModelID(fmt.Sprint("m", i)), Name: fmt.Sprint("m", i)}
			if i < c.callers {
				n.MacroFiles = []string{"macros/m.sql"}
			}
			m.Nodes[n.ID] = n
		}
		target := saveCompile(t, dir, in, &Recorder{}, m, nil)
		edited, err := Fingerprint(macro("{% macro m() %}2{% endmacro %}"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		r, patch := Find(target, edited, nil, nil, nil)
		if (r != nil) != c.patch || (r != nil && (!patch || !reflect.DeepEqual(r.ChangedMacros, []string{"macros/m.sql"}))) {
			t.Fatalf("%d of 4 nodes call the macro: found %v (patch %v), want %v", c.callers, r != nil, patch, c.patch)
		}
		if r != nil && r.Manifest.Nodes["model.m0"].MacroFiles[0] != "macros/m.sql" {
			t.Fatalf("the recorded manifest lost its macro files: %+v", r.Manifest.Nodes["model.m0"])
		}
	}
}

// TestPropsChanges: the properties files whose digest changed are listed
// with the models they described; a patch is refused when such a file
// held or holds more than models, or the files differ.
func TestPropsChanges(t *testing.T) {
	was := map[string]PropsFile{
		"models/a.yml": {SHA256: "1", Models: []string{"a", "b"}},
		"models/s.yml": {SHA256: "2", Models: []string{"c"}, Other: true},
	}
	with := func(path string, f PropsFile) map[string]PropsFile {
		now := maps.Clone(was)
		now[path] = f
		return now
	}
	cases := []struct {
		name    string
		now     map[string]PropsFile
		changed map[string][]string
		ok      bool
	}{
		{"nothing", was, nil, true},
		{"a models-only file", with("models/a.yml", PropsFile{SHA256: "3", Models: []string{"a"}}), map[string][]string{"models/a.yml": {"a", "b"}}, true},
		{"a file that now holds a source", with("models/a.yml", PropsFile{SHA256: "3", Other: true}), nil, false},
		{"a file that held a source", with("models/s.yml", PropsFile{SHA256: "4", Models: []string{"c"}}), nil, false},
		{"a file added", with("models/new.yml", PropsFile{SHA256: "5"}), nil, false},
		{"a file that held a source, unchanged", with("models/s.yml", was["models/s.yml"]), nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			changed, ok := PropsChanges(was, c.now)
			if ok != c.ok || !reflect.DeepEqual(changed, c.changed) {
				t.Fatalf("PropsChanges = %v, %v; want %v, %v", changed, ok, c.changed, c.ok)
			}
		})
	}
}

// TestPriorSpans: a record gives a patch the spans of manifest.json's node
// members, also after a reuse rewrote the metadata at another length, so
// that encoding the recorded manifest with the prior copies every member
// and gives the file's bytes; a record whose file changed gives none.
func TestPriorSpans(t *testing.T) {
	env := func(string) (string, bool) { return "v", true }
	none := func(string) bool { return false }
	target, in := saved(t)
	check := func(what, invocationID string) {
		t.Helper()
		r := LookupPatch(target, in, env, none, nil)
		if r == nil {
			t.Fatalf("%s: no patchable record", what)
		}
		r.Manifest.Metadata.InvocationID = invocationID // what the file says
		prior := r.Prior(target, r.Manifest)
		if prior == nil {
			t.Fatalf("%s: no prior", what)
		}
		defer prior.File.(io.Closer).Close()
		file, err := os.ReadFile(filepath.Join(target, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		span := prior.Spans["model.a"]
		if member := string(file[span[0]:span[1]]); !strings.HasPrefix(member, `"model.a":{`) || !strings.HasSuffix(member, "}") {
			t.Fatalf("%s: span %v holds %q", what, span, member)
		}
		counted := &countingReaderAt{r: prior.File}
		prior.File = counted
		got, err := manifest.EncodeChunks(r.Manifest, prior)
		if err != nil {
			t.Fatal(err)
		}
		if counted.read != int(span[1]-span[0]) {
			t.Fatalf("%s: read %d bytes of the prior, want the member's %d", what, counted.read, span[1]-span[0])
		}
		if string(got.Bytes()) != string(file) {
			t.Fatalf("%s: encoding with the prior differs from the file:\n got %s\nwant %s", what, got.Bytes(), file)
		}
	}
	check("as saved", "00000000")
	r := Lookup(target, in, env, none, nil)
	r.Manifest.Metadata.InvocationID = "a much longer invocation id than before"
	if err := r.WriteManifest(target); err != nil {
		t.Fatal(err)
	}
	check("after a reuse lengthened the metadata", r.Manifest.Metadata.InvocationID)

	// A record whose lengths do not fit the file gives none.
	recPath := filepath.Join(target, FileName)
	good, err := os.ReadFile(recPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, lengths := range [][]uint64{{1 << 40}, {1 << 63}, {5, 5}} {
		var raw []byte
		for _, n := range lengths {
			raw = binary.AppendUvarint(raw, n)
		}
		var rec map[string]any
		dec := json.NewDecoder(bytes.NewReader(good))
		dec.UseNumber() // mtime_ns does not survive a float64
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		rec["node_members"] = base64.StdEncoding.EncodeToString(raw)
		bad, _ := json.Marshal(rec)
		if err := os.WriteFile(recPath, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		r := LookupPatch(target, in, env, none, nil)
		if r == nil {
			t.Fatal("the tampered record is not patchable")
		}
		if prior := r.Prior(target, r.Manifest); prior != nil {
			t.Fatalf("a prior from member lengths %v", lengths)
		}
	}
	if err := os.WriteFile(recPath, good, 0o644); err != nil {
		t.Fatal(err)
	}

	r = LookupPatch(target, in, env, none, nil)
	p := filepath.Join(target, "manifest.json")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if prior := r.Prior(target, r.Manifest); prior != nil {
		t.Fatal("a prior from a manifest.json changed since the lookup")
	}
}

type countingReaderAt struct {
	r    io.ReaderAt
	read int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.read += n
	return n, err
}

// Package partialparse lets an invocation reuse the previous compile of a
// project when nothing that compile depended on has changed, as dbt's
// partial parsing does: the manifest is read back from target/ instead of
// rendering every template again.
//
// A compile depends on the project's files, its options (target, vars,
// --full-refresh, threads, elt's version, the project directory), the
// environment variables its templates read with env_var(), and which
// relations is_incremental() found. Reuse is refused — the project is
// compiled in full — when any of them differs, when target/manifest.json is
// not the file that compile wrote, and always for a compile that ran
// run_query() or for a project that mentions run_started_at or
// invocation_id (project.VolatileNames): their results change from one
// invocation to the next. A wrong reuse would run stale SQL, so every doubt
// compiles.
//
// The record is target/partial_parse.gob, written after manifest.json: what
// the compile depended on, then the manifest itself in gob, which decodes
// several times faster than manifest.json (40 ms against 190 ms at 10,000
// models) and keeps every value's Go type.
package partialparse

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// FileName is the record's name in the target directory.
const FileName = "partial_parse.gob"

// format is the record's version: a record of another format is ignored.
const format = 1

// Options are a compile's inputs besides the project's files.
type Options struct {
	EltVersion  string         `json:"elt_version"`
	ProjectDir  string         `json:"project_dir"`
	Target      string         `json:"target"`
	Threads     int            `json:"threads"`
	Vars        map[string]any `json:"vars"`
	FullRefresh bool           `json:"full_refresh"`
}

// Inputs identify one compile's inputs.
type Inputs struct {
	// Key is the SHA-256 of the options and of every input file.
	Key string
	// Volatile says why this compile cannot be reused, "" when it can.
	Volatile string
}

// Fingerprint returns the Inputs of compiling p with opts. It reads the
// seed files (project.Load hashed the rest as it read them).
func Fingerprint(p *project.Project, opts Options) (Inputs, error) {
	h := sha256.New()
	fmt.Fprintf(h, "elt partial parse %d\n", format)
	o, err := json.Marshal(opts) // map keys sorted: canonical
	if err != nil {
		return Inputs{}, err
	}
	h.Write(o)
	h.Write([]byte{0})
	for _, in := range p.Inputs {
		h.Write([]byte(in.Path))
		h.Write([]byte{0})
		h.Write(in.SHA256[:])
	}
	seeds := append([]string(nil), p.SeedFiles...)
	sort.Strings(seeds)
	for _, s := range seeds {
		data, err := os.ReadFile(filepath.Join(p.Dir, filepath.FromSlash(s)))
		if err != nil {
			return Inputs{}, err
		}
		sum := sha256.Sum256(data)
		h.Write([]byte(s))
		h.Write([]byte{0})
		h.Write(sum[:])
	}
	return Inputs{Key: hex.EncodeToString(h.Sum(nil)), Volatile: p.Volatile}, nil
}

// Recorder records what a compile asked of its environment. Its methods
// wrap the compiler's options; they are safe for concurrent use.
type Recorder struct {
	mu        sync.Mutex
	env       map[string]envValue
	relations map[string]bool
	volatile  string
}

// envValue is what env_var() found for one name.
type envValue struct {
	Set   bool
	Value string
}

// Env wraps an env_var() lookup (nil means os.LookupEnv) to record every
// name read and what it gave.
func (r *Recorder) Env(lookup func(string) (string, bool)) func(string) (string, bool) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return func(name string) (string, bool) {
		v, ok := lookup(name)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.env == nil {
			r.env = map[string]envValue{}
		}
		r.env[name] = envValue{Set: ok, Value: v}
		return v, ok
	}
}

// Existing wraps an is_incremental() relation check (nil means no relation
// exists) to record every relation asked about and the answer.
func (r *Recorder) Existing(exists func(string) bool) func(string) bool {
	return func(rel string) bool {
		ok := exists != nil && exists(rel)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.relations == nil {
			r.relations = map[string]bool{}
		}
		r.relations[rel] = ok
		return ok
	}
}

// MarkVolatile records that the compile did something whose result may
// differ next time, e.g. "run_query": it will not be reused.
func (r *Recorder) MarkVolatile(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.volatile == "" {
		r.volatile = why
	}
}

// record is the head of partial_parse.gob.
type record struct {
	Format    int
	Key       string
	Env       map[string]envValue
	Relations map[string]bool
	// Manifest is the SHA-256 of the manifest.json this compile wrote.
	Manifest string
	Warnings []diag.Diagnostic
}

func init() {
	// The dynamic values of a manifest (vars, meta, unit test rows): gob
	// sends an interface's concrete type by name. A value of another type
	// fails Save, which then leaves no record.
	gob.Register(map[string]any{})
	gob.Register([]any{})
	gob.Register(time.Time{})
}

// Reuse is a previous compile found reusable by Lookup.
type Reuse struct {
	Manifest *manifest.Manifest
	// Warnings are the compile's warnings, to report again.
	Warnings diag.List
	// data is manifest.json as it is on disk; body the encoded manifest.
	data, body []byte
	rec        record
}

// Lookup returns the compile recorded in targetDir when it is reusable for
// in: same key, env_var() and is_incremental() answering as they did, and
// manifest.json the file it wrote. env and exists answer as the compile's
// options would (nil: os.LookupEnv, no relation). Any doubt gives nil.
func Lookup(targetDir string, in Inputs, env func(string) (string, bool), exists func(string) bool) *Reuse {
	if in.Volatile != "" || in.Key == "" {
		return nil
	}
	raw, err := os.ReadFile(filepath.Join(targetDir, FileName))
	if err != nil || len(raw) < 8 {
		return nil
	}
	n := binary.BigEndian.Uint64(raw)
	if n > uint64(len(raw)-8) {
		return nil
	}
	head, body := raw[8:8+n], raw[8+n:]
	var rec record
	if gob.NewDecoder(bytes.NewReader(head)).Decode(&rec) != nil || rec.Format != format || rec.Key != in.Key {
		return nil
	}
	if env == nil {
		env = os.LookupEnv
	}
	for name, want := range rec.Env {
		if v, ok := env(name); ok != want.Set || v != want.Value {
			return nil
		}
	}
	for rel, want := range rec.Relations {
		if (exists != nil && exists(rel)) != want {
			return nil
		}
	}
	data, err := os.ReadFile(filepath.Join(targetDir, "manifest.json"))
	if err != nil {
		return nil
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != rec.Manifest {
		return nil
	}
	var m manifest.Manifest
	if gob.NewDecoder(bytes.NewReader(body)).Decode(&m) != nil {
		return nil
	}
	if m.Nodes == nil {
		m.Nodes = map[manifest.NodeID]*manifest.Node{}
	}
	return &Reuse{Manifest: &m, Warnings: rec.Warnings, data: data, rec: rec, body: body}
}

// WriteManifest rewrites manifest.json in targetDir for a reused compile:
// the same bytes with the metadata of this invocation, which the record
// then names.
func (r *Reuse) WriteManifest(targetDir string) error {
	data, err := manifest.ReplaceMetadata(r.data, r.Manifest.Metadata)
	if err != nil {
		return err
	}
	if !bytes.Equal(data, r.data) {
		if err := writeAtomic(filepath.Join(targetDir, "manifest.json"), data); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(data)
	r.rec.Manifest = hex.EncodeToString(sum[:])
	return writeFile(targetDir, r.rec, r.body)
}

// Encoded is a manifest encoded for the record, see EncodeManifest.
type Encoded struct {
	body []byte
	err  error
}

// EncodeManifest encodes m for Save; it can run while manifest.json is
// written, as both only read m.
func EncodeManifest(m *manifest.Manifest) Encoded {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(m)
	return Encoded{body: buf.Bytes(), err: err}
}

// Save records the compile of in, which wrote manifestData as
// manifest.json and whose manifest enc holds, with what rec saw and its
// warnings. A compile that cannot be reused removes any earlier record
// instead.
func Save(targetDir string, in Inputs, rec *Recorder, enc Encoded, manifestData []byte, warnings diag.List) error {
	rec.mu.Lock()
	volatile := rec.volatile
	r := record{Format: format, Key: in.Key, Env: rec.env, Relations: rec.relations}
	rec.mu.Unlock()
	if in.Volatile != "" || volatile != "" || in.Key == "" {
		return Forget(targetDir)
	}
	if enc.err != nil {
		Forget(targetDir)
		return fmt.Errorf("encoding the manifest: %w", enc.err)
	}
	sum := sha256.Sum256(manifestData)
	r.Manifest = hex.EncodeToString(sum[:])
	for _, w := range warnings {
		if w.Severity == diag.Warning {
			r.Warnings = append(r.Warnings, w)
		}
	}
	return writeFile(targetDir, r, enc.body)
}

// Forget removes the record in targetDir, if any.
func Forget(targetDir string) error {
	err := os.Remove(filepath.Join(targetDir, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// writeFile writes the record file: the length of the head, the head,
// then the manifest.
func writeFile(targetDir string, r record, body []byte) error {
	var head bytes.Buffer
	if err := gob.NewEncoder(&head).Encode(r); err != nil {
		return err
	}
	out := make([]byte, 8, 8+head.Len()+len(body))
	binary.BigEndian.PutUint64(out, uint64(head.Len()))
	out = append(append(out, head.Bytes()...), body...)
	return writeAtomic(filepath.Join(targetDir, FileName), out)
}

// writeAtomic writes data to p through a temporary file of its own and a
// rename, so concurrent writers never mix their bytes.
func writeAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), p)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}

package partialparse

import (
	"encoding/hex"
	"sort"

	"github.com/elt-dev/elt/project"
)

// What a patch needs to know of the files and variables that differ
// between two compiles of one ModelKey: the properties files (and the
// models they describe), the macro files and the variables.

// PropsFile is what a compile's record keeps of one properties file.
type PropsFile struct {
	// SHA256 is the hex SHA-256 of the file's bytes.
	SHA256 string `json:"sha256"`
	// Models names the models the file describes, sorted.
	Models []string `json:"models,omitempty"`
	// Other is set when the file holds anything but models: sources,
	// seeds or unit tests, which a patch does not bring up to date.
	Other bool `json:"other,omitempty"`
}

// propsFiles returns the PropsFile of each properties file of p, by path,
// the digests taken from p.Inputs.
func propsFiles(p *project.Project) map[string]PropsFile {
	if len(p.PropsFiles) == 0 {
		return nil
	}
	out := make(map[string]PropsFile, len(p.PropsFiles))
	for _, path := range p.PropsFiles {
		out[path] = PropsFile{}
	}
	for _, in := range p.Inputs {
		if f, ok := out[in.Path]; ok {
			f.SHA256 = hex.EncodeToString(in.SHA256[:])
			out[in.Path] = f
		}
	}
	for _, mp := range p.ModelProps {
		if f, ok := out[mp.File]; ok {
			f.Models = append(f.Models, mp.Name)
			out[mp.File] = f
		}
	}
	other := func(file string) {
		if f, ok := out[file]; ok {
			f.Other = true
			out[file] = f
		}
	}
	for _, sp := range p.SeedProps {
		other(sp.File)
	}
	for _, s := range p.Sources {
		other(s.File)
	}
	for _, u := range p.UnitTests {
		other(u.File)
	}
	for path, f := range out {
		sort.Strings(f.Models)
		out[path] = f
	}
	return out
}

// varDigests returns the typed digest of each variable's value, --vars
// over the project's, by name.
func varDigests(project, given map[string]any) map[string]string {
	if len(project)+len(given) == 0 {
		return nil
	}
	out := make(map[string]string, len(project)+len(given))
	for k, v := range project {
		out[k] = typedDigest(v)
	}
	for k, v := range given {
		out[k] = "given " + typedDigest(v) // moved between project.yaml and --vars, a value counts as changed
	}
	return out
}

// VarChanges returns the variables whose digest differs between was and
// now, or that only one of them has, sorted.
func VarChanges(was, now map[string]string) []string {
	var changed []string
	for k, d := range now {
		if was[k] != d {
			changed = append(changed, k)
		}
	}
	for k := range was {
		if _, ok := now[k]; !ok {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	return changed
}

// MacroChanges returns the macro files of now whose digest differs from
// was's, sorted. ok is false when the two do not list the same files.
func MacroChanges(was, now map[string]string) (changed []string, ok bool) {
	if len(was) != len(now) {
		return nil, false
	}
	for path, sum := range now {
		old, found := was[path]
		if !found {
			return nil, false
		}
		if old != sum {
			changed = append(changed, path)
		}
	}
	sort.Strings(changed)
	return changed, true
}

// PropsChanges returns the properties files of now whose digest differs
// from was's, each with the models it described in was. ok is false when
// a patch cannot take the changes: a changed file holds (or held) more
// than models, or the two do not list the same files (ModelKey, which
// covers the paths, rules that out unless a record is damaged).
func PropsChanges(was, now map[string]PropsFile) (changed map[string][]string, ok bool) {
	if len(was) != len(now) {
		return nil, false
	}
	for path, f := range now {
		old, found := was[path]
		switch {
		case !found:
			return nil, false
		case old.SHA256 == f.SHA256:
			continue
		case old.Other || f.Other:
			return nil, false
		}
		if changed == nil {
			changed = map[string][]string{}
		}
		changed[path] = old.Models
	}
	return changed, true
}

package project

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/elt-dev/elt/diag"
)

// Load reads the project in dir: project.yaml, every model, macro, test and
// seed file, and every properties YAML. It collects every problem it finds
// and returns them sorted. The project is nil only when project.yaml cannot
// be read; otherwise it is filled as far as the files allow, even when the
// list holds errors, and callers must check List.HasErrors before using it.
func Load(dir string) (*Project, diag.List) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, diag.List{diag.Errorf(diag.Pos{File: dir}, "cannot resolve the project directory: %v", err)}
	}
	data, err := os.ReadFile(filepath.Join(abs, FileName))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, diag.List{diag.Errorf(diag.Pos{File: dir}, "no %s found — run `elt init` or pass --project-dir", FileName)}
		}
		return nil, diag.List{diag.Errorf(diag.Pos{File: path.Join(filepath.ToSlash(dir), FileName)}, "cannot read: %v", err)}
	}

	p := &Project{
		Dir: abs, Pos: diag.Pos{File: FileName, Line: 1},
		Targets: map[string]*Target{}, Vars: map[string]any{}, Jobs: map[string]*Job{},
		ModelDefaults: newFolderConfig(), SeedDefaults: newFolderConfig(),
	}
	var errs diag.List
	files := discover(abs, &errs)

	// Read and parse every file concurrently; results land in slots indexed
	// like the sorted file lists, so the merge below is deterministic.
	sqlPaths := make([]string, 0, len(files.models)+len(files.macros)+len(files.tests))
	sqlPaths = append(append(append(sqlPaths, files.models...), files.macros...), files.tests...)
	sqlFiles := make([]*SQLFile, len(sqlPaths))
	props := make([]*propsFile, len(files.props))
	fileErrs := make([]diag.List, len(sqlPaths)+len(files.props))
	inputs := make([]InputFile, len(sqlPaths)+len(files.props))
	volatile := make([]string, len(sqlPaths)+len(files.props))
	// Properties YAML is data the compiler may render pieces of (test
	// arguments): a mention of a volatile name there is noted. Templates
	// are checked by the compiler, which knows which ones it renders.
	note := func(i int, rel string, b []byte) {
		inputs[i] = InputFile{Path: rel, SHA256: sha256.Sum256(b)}
		volatile[i] = mentionsVolatile(b)
	}
	var projCtx fileCtx
	parallel(len(sqlPaths)+len(files.props)+1, func(i int) {
		switch {
		case i < len(sqlPaths):
			rel := sqlPaths[i]
			bp := bufPool.Get().(*[]byte)
			defer bufPool.Put(bp)
			b, err := readFile(filepath.Join(abs, filepath.FromSlash(rel)), *bp)
			*bp = b
			if err != nil {
				fileErrs[i].Errorf(diag.Pos{File: rel}, "cannot read: %v", err)
				return
			}
			sqlFiles[i] = &SQLFile{Path: rel, Name: baseName(rel), Content: string(b)}
			inputs[i] = InputFile{Path: rel, SHA256: sha256.Sum256(b)}
		case i < len(sqlPaths)+len(files.props):
			j := i - len(sqlPaths)
			rel := files.props[j]
			c := &fileCtx{file: rel}
			bp := bufPool.Get().(*[]byte)
			defer bufPool.Put(bp)
			b, err := readFile(filepath.Join(abs, filepath.FromSlash(rel)), *bp)
			*bp = b
			if err != nil {
				c.errs.Errorf(diag.Pos{File: rel}, "cannot read: %v", err)
			} else {
				note(i, rel, b)
				if root := c.parseYAML(b); root != nil {
					props[j] = c.parseProps(root)
				}
			}
			fileErrs[i] = c.errs
		default:
			projCtx.file = FileName
			root := projCtx.parseYAML(data)
			if root != nil {
				projCtx.parseProject(root, p, files)
			}
			p.SettingsSHA256 = settingsDigest(data, root)
		}
	})
	errs.Append(projCtx.errs)
	for _, l := range fileErrs {
		errs.Append(l)
	}
	p.Inputs = append(make([]InputFile, 0, len(inputs)+1), InputFile{Path: FileName, SHA256: sha256.Sum256(data)})
	for i, in := range inputs {
		if in.Path == "" {
			continue // unreadable: an error above
		}
		p.Inputs = append(p.Inputs, in)
		if volatile[i] != "" && p.Volatile == "" {
			p.Volatile = in.Path + " mentions " + volatile[i]
		}
	}
	slices.SortFunc(p.Inputs, func(a, b InputFile) int { return strings.Compare(a.Path, b.Path) })

	split := func(from, to int) []*SQLFile {
		out := make([]*SQLFile, 0, to-from)
		for _, f := range sqlFiles[from:to] {
			if f != nil {
				out = append(out, f)
			}
		}
		return out
	}
	nm, nma := len(files.models), len(files.models)+len(files.macros)
	p.Models, p.Macros, p.Tests = split(0, nm), split(nm, nma), split(nma, len(sqlFiles))
	p.SeedFiles = files.seeds
	p.PropsFiles = files.props

	modelFiles := checkUniqueNames(files.models, "model", &errs)
	seedFiles := checkUniqueNames(files.seeds, "seed", &errs)
	lowerModels := make(map[string]string, len(modelFiles))
	for name, m := range modelFiles {
		lowerModels[strings.ToLower(name)] = m
	}
	for name, s := range seedFiles {
		if m, ok := lowerModels[strings.ToLower(name)]; ok {
			errs.Errorf(diag.Pos{File: s, Line: 1}, "seed %q has the name of model %s — rename one of them", name, m)
			errs.Errorf(diag.Pos{File: m, Line: 1}, "model %q has the name of seed %s — rename one of them", baseName(m), s)
		}
	}
	mergeProps(p, props, modelFiles, seedFiles, &errs)
	errs.Sort()
	return p, errs
}

// bufPool holds read buffers. SQL content is copied into a string and
// yaml.v3 keeps no reference to its input, so a buffer is free again once
// its file is handled.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// parallel calls fn(i) for every i in [0, n) on a few goroutines.
func parallel(n int, fn func(i int)) {
	workers := runtime.GOMAXPROCS(0) * 2
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	const chunk = 16
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				start := next
				next += chunk
				mu.Unlock()
				if start >= n {
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					fn(i)
				}
			}
		}()
	}
	wg.Wait()
}

// fileSet lists a project's files, each sorted, as forward-slash paths
// relative to the project directory.
type fileSet struct {
	models, macros, tests, seeds []string
	props                        []string // properties YAML under models/ and seeds/
	// dirs holds every folder under models/ and seeds/, e.g. "models/staging".
	dirs map[string]bool
}

// discover walks models/, macros/, tests/ and seeds/, skipping hidden files
// and folders. A missing folder is not an error.
func discover(abs string, errs *diag.List) *fileSet {
	fset := &fileSet{dirs: map[string]bool{}}
	walk := func(root string, visit func(rel, ext string)) {
		base := filepath.Join(abs, root)
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == base {
					return nil
				}
				rel, _ := filepath.Rel(abs, p)
				errs.Errorf(diag.Pos{File: filepath.ToSlash(rel)}, "cannot read: %v", err)
				return nil
			}
			name := d.Name()
			if p != base && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			rel, _ := filepath.Rel(abs, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				fset.dirs[rel] = true
				return nil
			}
			visit(rel, strings.ToLower(path.Ext(name)))
			return nil
		})
		if err != nil {
			errs.Errorf(diag.Pos{File: root}, "cannot read: %v", err)
		}
	}
	walk("models", func(rel, ext string) {
		switch ext {
		case ".sql":
			fset.models = append(fset.models, rel)
		case ".yml", ".yaml":
			fset.props = append(fset.props, rel)
		}
	})
	walk("seeds", func(rel, ext string) {
		switch ext {
		case ".csv":
			fset.seeds = append(fset.seeds, rel)
		case ".yml", ".yaml":
			fset.props = append(fset.props, rel)
		}
	})
	walk("macros", func(rel, ext string) {
		if ext == ".sql" {
			fset.macros = append(fset.macros, rel)
		}
	})
	walk("tests", func(rel, ext string) {
		if ext == ".sql" {
			fset.tests = append(fset.tests, rel)
		}
	})
	for _, l := range [][]string{fset.models, fset.macros, fset.tests, fset.seeds, fset.props} {
		sort.Strings(l)
	}
	return fset
}

// checkUniqueNames maps each file's base name (without ext) to its path and
// reports names shared by several files, at every one of them. Names are
// compared ignoring case, as DuckDB compares identifiers.
func checkUniqueNames(paths []string, kind string, errs *diag.List) map[string]string {
	byName := make(map[string][]string, len(paths))
	out := make(map[string]string, len(paths))
	for _, p := range paths {
		name := baseName(p)
		if _, ok := out[name]; !ok {
			out[name] = p
		}
		key := strings.ToLower(name)
		byName[key] = append(byName[key], p)
	}
	for _, ps := range byName {
		if len(ps) == 1 {
			continue
		}
		for i, p := range ps {
			others := append(append([]string(nil), ps[:i]...), ps[i+1:]...)
			errs.Errorf(diag.Pos{File: p, Line: 1}, "duplicate %s name %q (also %s) — rename one of them", kind, baseName(p), strings.Join(others, ", "))
		}
	}
	return out
}

// mergeProps gathers the entries of every properties file into p, in file
// order, reporting entries documented twice and entries naming no file.
func mergeProps(p *Project, files []*propsFile, models, seeds map[string]string, errs *diag.List) {
	p.ModelProps = map[string]*ModelProps{}
	p.SeedProps = map[string]*ModelProps{}
	modelNames, seedNames := sortedKeys(models), sortedKeys(seeds)
	sources := map[string]*Source{}
	units := map[string]*UnitTest{}
	for _, f := range files {
		if f == nil {
			continue
		}
		addProps(p.ModelProps, f.models, "model", "models/**/%s.sql", models, modelNames, errs)
		addProps(p.SeedProps, f.seeds, "seed", "seeds/**/%s.csv", seeds, seedNames, errs)
		for _, s := range f.sources {
			if prev, ok := sources[s.Name]; ok {
				errs.Errorf(s.Pos, "source %q is defined twice (also %s) — merge the tables into one entry", s.Name, prev.Pos)
				continue
			}
			sources[s.Name] = s
			p.Sources = append(p.Sources, s)
		}
		for _, u := range f.unitTests {
			if prev, ok := units[u.Name]; ok {
				errs.Errorf(u.Pos, "unit test %q is defined twice (also %s) — rename one of them", u.Name, prev.Pos)
				continue
			}
			units[u.Name] = u
			if _, ok := models[u.Model]; !ok && u.Model != "" {
				errs.Errorf(u.Pos, "unit test %q tests model %q, which has no file%s", u.Name, u.Model, didYouMean(u.Model, modelNames))
			}
			p.UnitTests = append(p.UnitTests, u)
		}
	}
}

func addProps(dst map[string]*ModelProps, entries []*ModelProps, kind, pattern string, files map[string]string, names []string, errs *diag.List) {
	for _, e := range entries {
		if prev, ok := dst[e.Name]; ok {
			errs.Errorf(e.Pos, "%s %q is documented twice (also %s) — keep one entry", kind, e.Name, prev.Pos)
			continue
		}
		if _, ok := files[e.Name]; !ok {
			hint := didYouMean(e.Name, names)
			if hint == "" {
				hint = " — add the file or remove the entry"
			}
			errs.Errorf(e.Pos, "%s %q has no file %s%s", kind, e.Name, fmt.Sprintf(pattern, e.Name), hint)
			continue
		}
		dst[e.Name] = e
	}
}

// baseName is a file's name without folder and extension: the name of the
// model or seed it defines.
func baseName(p string) string {
	b := path.Base(p)
	return b[:len(b)-len(path.Ext(b))]
}

// didYouMean returns ` — did you mean "x"?` for the closest name, or "".
func didYouMean(word string, names []string) string {
	if s := suggest(word, names); s != "" {
		return fmt.Sprintf(" — did you mean %q?", s)
	}
	return ""
}

// mentionsVolatile is MentionsVolatile of b.
func mentionsVolatile(b []byte) string { return MentionsVolatile(string(b)) }

// randomFilter matches gonja's random filter, which picks a different
// item at every render.
var randomFilter = regexp.MustCompile(`\|\s*random\b`)

// MentionsVolatile returns what in template source s makes a render
// differ from one invocation to the next: the first of VolatileNames it
// mentions, or "the random filter"; "" for nothing. A mention in a comment
// counts too: a needless recompile costs time, a missed one stale SQL.
func MentionsVolatile(s string) string {
	for _, name := range VolatileNames {
		if strings.Contains(s, name) {
			return name
		}
	}
	if randomFilter.MatchString(s) {
		return "the random filter"
	}
	return ""
}

package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// buildSources creates a node per source table. A file source's relation
// is a DuckDB reader expression over its glob, relative to the project
// directory; a database source's is "schema"."identifier".
func (c *compilation) buildSources() {
	for _, src := range c.p.Sources {
		for _, t := range src.Tables {
			id := manifest.SourceID(src.Name, t.Name)
			if _, dup := c.sources[id]; dup {
				c.diags.Errorf(t.Pos, "source table %s.%s is declared twice — remove one", src.Name, t.Name)
				continue
			}
			n := &manifest.Node{
				ID: id, ResourceType: manifest.Source, Name: t.Name, Path: src.File, Pos: t.Pos,
				Description: t.Description,
				Tags:        unionStrings(src.Tags, t.Tags),
				Meta:        mergeMeta(src.Meta, t.Meta),
				Columns:     columns(t.Columns),
				DataTests:   testSpecs(t.Tests),
			}
			n.Config = manifest.Config{Enabled: true, Tags: n.Tags, Meta: n.Meta, EventTime: t.EventTime}
			info := &manifest.SourceInfo{
				SourceName: src.Name, TableName: t.Name, Path: t.Path, Format: t.Format,
				HivePartitioning: t.HivePartitioning, Options: t.Options,
				LoadedAtField: t.LoadedAtField, EventTime: t.EventTime, Freshness: freshness(t.Freshness),
			}
			if t.Stream != nil {
				info.Stream = streamInfo(t)
			}
			if t.Path == "" && info.Stream != nil {
				n.Alias = t.Name
				if info.Stream.Path != "" {
					expr, err := landingReader(t, info.Stream)
					if err != nil {
						c.diags.Errorf(t.Pos, "source %s.%s: %v", src.Name, t.Name, err)
						continue
					}
					n.Relation = expr
					info.Format = info.Stream.Format
				}
			} else if t.Path != "" {
				expr, err := readerExpr(t)
				if err != nil {
					c.diags.Errorf(t.Pos, "source %s.%s: %v", src.Name, t.Name, err)
					continue
				}
				info.Format = formatOf(t)
				n.Relation = expr
				n.Alias = t.Name
			} else {
				info.Schema = firstNonEmpty(t.Schema, src.Schema, src.Name)
				info.Identifier = firstNonEmpty(t.Identifier, t.Name)
				n.Schema, n.Alias = info.Schema, info.Identifier
				n.Relation = quoteIdent(info.Schema) + "." + quoteIdent(info.Identifier)
			}
			n.Source = info
			n.Fingerprint = fingerprint(n.Relation, n.Config)
			c.sources[id] = n
			c.sourceTables[src.Name] = append(c.sourceTables[src.Name], t.Name)
		}
	}
	for _, tables := range c.sourceTables {
		sort.Strings(tables)
	}
}

// formatOf returns a file source's format: as declared, else from the
// path's extension (ignoring a compression suffix); "" when unknown.
func formatOf(t *project.SourceTable) string {
	if t.Format != "" {
		return strings.ToLower(t.Format)
	}
	p := strings.ToLower(t.Path)
	for _, z := range []string{".gz", ".zst", ".gzip"} {
		p = strings.TrimSuffix(p, z)
	}
	switch path.Ext(p) {
	case ".csv", ".tsv", ".txt":
		return "csv"
	case ".parquet", ".pq":
		return "parquet"
	case ".json", ".jsonl", ".ndjson":
		return "json"
	}
	return ""
}

// readerExpr renders read_csv('glob', hive_partitioning=true, opt=value, …)
// with options in key order.
func readerExpr(t *project.SourceTable) (string, error) {
	format := formatOf(t)
	var fn string
	switch format {
	case "csv":
		fn = "read_csv"
	case "parquet":
		fn = "read_parquet"
	case "json":
		fn = "read_json"
	case "":
		return "", fmt.Errorf("cannot tell the format of %q from its extension — add format: csv, parquet or json", t.Path)
	default:
		return "", fmt.Errorf("format %q is not supported — use csv, parquet or json", t.Format)
	}
	var b strings.Builder
	b.WriteString(fn + "(" + sqlString(t.Path))
	if t.HivePartitioning {
		b.WriteString(", hive_partitioning=true")
	}
	for _, k := range sortedKeys(t.Options) {
		if k == "hive_partitioning" && t.HivePartitioning {
			continue
		}
		lit, err := sqlLiteral(t.Options[k])
		if err != nil {
			return "", fmt.Errorf("option %s: %v", k, err)
		}
		b.WriteString(", " + k + "=" + lit)
	}
	b.WriteString(rejectsOptions(format, t))
	b.WriteString(")")
	return b.String(), nil
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlLiteral renders a YAML value as a DuckDB literal: strings quoted,
// booleans and numbers bare, lists as [..], mappings as {'k': v}.
func sqlLiteral(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case [][2]string: // an ordered mapping of strings, e.g. columns
		parts := make([]string, len(x))
		for i, kv := range x {
			parts[i] = sqlString(kv[0]) + ": " + sqlString(kv[1])
		}
		return "{" + strings.Join(parts, ", ") + "}", nil
	case string:
		return sqlString(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, err := sqlLiteral(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = sqlString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			s, err := sqlLiteral(x[k])
			if err != nil {
				return "", err
			}
			parts = append(parts, sqlString(k)+": "+s)
		}
		return "{" + strings.Join(parts, ", ") + "}", nil
	}
	return "", fmt.Errorf("cannot pass a %T to DuckDB — use a string, number, boolean, list or mapping", v)
}

// buildSeeds creates a node per CSV under seeds/, configured from the seed
// folder defaults and seed properties. Disabled seeds are left out.
func (c *compilation) buildSeeds() {
	for _, p := range c.p.SeedFiles {
		name := seedName(p)
		if _, dup := c.seeds[name]; dup {
			continue // project.Load reports duplicate names
		}
		cfg := manifest.DefaultConfig()
		cfg.Materialized = "seed"
		var failed bool
		apply := func(m project.ConfigMap) {
			for _, k := range sortedKeys(m) {
				if err := cfg.Apply(k, m[k].V); err != nil {
					c.diags.Errorf(m[k].Pos, "%v", err)
					failed = true
				}
			}
		}
		for _, fc := range folderChain(c.p.SeedDefaults, p, "seeds/") {
			apply(fc.Config)
		}
		props := c.p.SeedProps[name]
		n := &manifest.Node{ID: manifest.SeedID(name), ResourceType: manifest.Seed, Name: name,
			Path: p, Pos: diag.Pos{File: p, Line: 1}, Seed: &manifest.SeedInfo{Path: p}}
		if props != nil {
			if len(props.Tags) > 0 {
				_ = cfg.Apply("tags", toAnyList(props.Tags))
			}
			if len(props.Meta) > 0 {
				_ = cfg.Apply("meta", props.Meta)
			}
			apply(props.Config)
			n.Description = props.Description
			n.Columns = columns(props.Columns)
			n.DataTests = testSpecs(props.Tests)
		}
		if !cfg.Enabled || failed {
			continue
		}
		n.Config = cfg
		n.Tags, n.Meta = cfg.Tags, cfg.Meta
		n.Schema = cfg.Schema
		n.Alias = firstNonEmpty(cfg.Alias, name)
		n.Relation = quoteIdent(n.Schema) + "." + quoteIdent(n.Alias)
		data, err := os.ReadFile(filepath.Join(c.p.Dir, filepath.FromSlash(p)))
		if err != nil {
			c.diags.Errorf(diag.Pos{File: p}, "cannot read seed: %v", err)
			continue
		}
		n.Fingerprint = fingerprint(string(data), cfg)
		c.seeds[name] = n
	}
}

// seedName is the name of the seed in the file at p: its base name
// without extension.
func seedName(p string) string { return strings.TrimSuffix(path.Base(p), path.Ext(p)) }

// fingerprint is the hex sha256 of the compiled SQL (or seed data) and the
// canonical JSON of cfg, without profile: asking for column profiles
// changes nothing a build produces, and must not make a microbatch model
// redo its intervals.
func fingerprint(sql string, cfg manifest.Config) string {
	cfg.Profile = false
	h := sha256.New()
	h.Write([]byte(sql))
	h.Write([]byte{0})
	js, err := json.Marshal(manifest.PlainConfig(cfg)) // field order: see Config
	if err != nil {
		// Config holds only JSON-encodable values; keep the hash stable anyway.
		js = []byte(fmt.Sprintf("%#v", cfg))
	}
	h.Write(js)
	return hex.EncodeToString(h.Sum(nil))
}

func freshness(f *project.Freshness) *manifest.Freshness {
	if f == nil {
		return nil
	}
	conv := func(p *project.Period) *manifest.Period {
		if p == nil {
			return nil
		}
		return &manifest.Period{Count: p.Count, Period: p.Period}
	}
	return &manifest.Freshness{WarnAfter: conv(f.WarnAfter), ErrorAfter: conv(f.ErrorAfter)}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func unionStrings(a, b []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func mergeMeta(a, b map[string]any) map[string]any {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

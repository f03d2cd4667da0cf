package materialize

import (
	"fmt"
	"strings"
)

// SchemaDiff is how a batch's columns differ from its target's.
type SchemaDiff struct {
	// Added are batch columns the target lacks, in batch order.
	Added []Column
	// Removed are target columns the batch lacks, in target order.
	Removed []Column
	// Retyped are columns in both with different types: From is the
	// target's column, To the batch's, in target order.
	Retyped []Retype
}

// Retype is one column whose type changed.
type Retype struct {
	From, To Column
}

// Empty reports whether the batch has exactly the target's columns and types.
func (d SchemaDiff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Retyped) == 0
}

// String names every added, removed and retyped column, e.g.
// `added: c (INTEGER); removed: d (VARCHAR); retyped: a INTEGER → VARCHAR`.
func (d SchemaDiff) String() string {
	var parts []string
	list := func(cols []Column) string {
		s := make([]string, len(cols))
		for i, c := range cols {
			s[i] = c.Name + " (" + c.Type + ")"
		}
		return strings.Join(s, ", ")
	}
	if len(d.Added) > 0 {
		parts = append(parts, "added: "+list(d.Added))
	}
	if len(d.Removed) > 0 {
		parts = append(parts, "removed: "+list(d.Removed))
	}
	if len(d.Retyped) > 0 {
		s := make([]string, len(d.Retyped))
		for i, r := range d.Retyped {
			s[i] = r.From.Name + " " + r.From.Type + " → " + r.To.Type
		}
		parts = append(parts, "retyped: "+strings.Join(s, ", "))
	}
	return strings.Join(parts, "; ")
}

// Diff compares a target's columns with a batch's. Names compare
// case-insensitively, as DuckDB's identifiers do.
func Diff(target, batch []Column) SchemaDiff {
	var d SchemaDiff
	tgt := map[string]Column{}
	for _, c := range target {
		tgt[strings.ToLower(c.Name)] = c
	}
	bat := map[string]Column{}
	for _, c := range batch {
		bat[strings.ToLower(c.Name)] = c
		if _, ok := tgt[strings.ToLower(c.Name)]; !ok {
			d.Added = append(d.Added, c)
		}
	}
	for _, c := range target {
		b, ok := bat[strings.ToLower(c.Name)]
		switch {
		case !ok:
			d.Removed = append(d.Removed, c)
		case !strings.EqualFold(b.Type, c.Type):
			d.Retyped = append(d.Retyped, Retype{From: c, To: b})
		}
	}
	return d
}

// widenings lists the type changes sync_all_columns applies in place:
// each target type maps to the types it may safely grow into, where every
// old value is exactly representable in the new type.
var widenings = map[string][]string{
	"TINYINT":   {"SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE"},
	"SMALLINT":  {"INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE"},
	"INTEGER":   {"BIGINT", "HUGEINT", "DOUBLE"},
	"BIGINT":    {"HUGEINT"},
	"UTINYINT":  {"USMALLINT", "UINTEGER", "UBIGINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"},
	"USMALLINT": {"UINTEGER", "UBIGINT", "INTEGER", "BIGINT", "HUGEINT"},
	"UINTEGER":  {"UBIGINT", "BIGINT", "HUGEINT"},
	"FLOAT":     {"DOUBLE"},
	"DATE":      {"TIMESTAMP"},
}

// SafeWidening reports whether a column of type from may become type to
// without losing or changing any stored value: a wider integer or float,
// DATE to TIMESTAMP, a longer VARCHAR, or a DECIMAL with at least as many
// integer and fraction digits.
func SafeWidening(from, to string) bool {
	from, to = strings.ToUpper(strings.TrimSpace(from)), strings.ToUpper(strings.TrimSpace(to))
	if from == to {
		return true
	}
	for _, w := range widenings[from] {
		if w == to {
			return true
		}
	}
	if to == "VARCHAR" && strings.HasPrefix(from, "VARCHAR") {
		return true
	}
	fp, fs, fok := decimal(from)
	tp, ts, tok := decimal(to)
	if fok && tok {
		return ts >= fs && tp-ts >= fp-fs
	}
	// An integer fits a decimal with enough integer digits.
	digits := map[string]int{"TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19}
	if d, ok := digits[from]; ok && tok {
		return tp-ts >= d
	}
	return false
}

// decimal parses DECIMAL(p,s).
func decimal(t string) (p, s int, ok bool) {
	if _, err := fmt.Sscanf(t, "DECIMAL(%d,%d)", &p, &s); err == nil {
		return p, s, true
	}
	return 0, 0, false
}

// SchemaChange applies policy (on_schema_change: ignore, append_new_columns,
// sync_all_columns or fail; "" means ignore) to diff and returns the
// statements that alter target, and the columns to write from the batch
// afterwards, in target order. An error names the differing columns and
// the fix.
//
//   - ignore: the target keeps its columns; new batch columns are not
//     written and removed ones are filled with NULL.
//   - append_new_columns: new columns are added (existing rows get NULL);
//     removed ones stay and are filled with NULL.
//   - sync_all_columns: new columns are added, removed ones dropped, and
//     retyped ones widened when SafeWidening allows; any other type change
//     is an error.
//   - fail: any difference is an error.
//
// Under ignore and append_new_columns a retyped column keeps the target's
// type; DuckDB casts the batch's values on insert, and a value that does
// not fit fails the node.
func SchemaChange(policy, target string, targetCols, batchCols []Column) (stmts []string, write []string, err error) {
	diff := Diff(targetCols, batchCols)
	inBatch := map[string]bool{}
	for _, c := range batchCols {
		inBatch[strings.ToLower(c.Name)] = true
	}
	final := append([]Column(nil), targetCols...)
	switch policy {
	case "", "ignore":
	case "fail":
		if !diff.Empty() {
			return nil, nil, fmt.Errorf("the model's columns changed (%s) and on_schema_change is 'fail' — run with --full-refresh to rebuild it, or set on_schema_change to append_new_columns or sync_all_columns", diff)
		}
	case "append_new_columns", "sync_all_columns":
		if policy == "sync_all_columns" {
			var bad []string
			for _, r := range diff.Retyped {
				if !SafeWidening(r.From.Type, r.To.Type) {
					bad = append(bad, r.From.Name+" "+r.From.Type+" → "+r.To.Type)
				}
			}
			if len(bad) > 0 {
				return nil, nil, fmt.Errorf("on_schema_change 'sync_all_columns' cannot change %s without losing values (changes: %s) — cast the column back in the model, or run with --full-refresh", strings.Join(bad, ", "), diff)
			}
			for _, r := range diff.Retyped {
				stmts = append(stmts, "ALTER TABLE "+target+" ALTER COLUMN "+quoteIdent(r.From.Name)+" SET DATA TYPE "+r.To.Type)
			}
			for _, c := range diff.Removed {
				stmts = append(stmts, "ALTER TABLE "+target+" DROP COLUMN "+quoteIdent(c.Name))
			}
			final = final[:0]
			for _, c := range targetCols {
				if inBatch[strings.ToLower(c.Name)] {
					final = append(final, c)
				}
			}
		}
		for _, c := range diff.Added {
			stmts = append(stmts, "ALTER TABLE "+target+" ADD COLUMN "+quoteIdent(c.Name)+" "+c.Type)
			final = append(final, c)
		}
	default:
		return nil, nil, fmt.Errorf("on_schema_change %q is not valid — use ignore, append_new_columns, sync_all_columns or fail", policy)
	}
	for _, c := range final {
		if inBatch[strings.ToLower(c.Name)] {
			write = append(write, c.Name)
		}
	}
	return stmts, write, nil
}

package materialize

import (
	"errors"
	"strings"
)

// MergeSpec is everything the merge builder needs: the target, the batch,
// the key and the columns to write. It holds names only, no SQL of the
// model, so the statements it yields are fully determined by it.
type MergeSpec struct {
	// Target is the quoted relation merged into.
	Target string
	// Source is the batch: a quoted relation or a parenthesised query.
	Source string
	// UniqueKey lists the key columns (unquoted); at least one.
	UniqueKey []string
	// UpdatedAt is the version column (unquoted), or "" when rows carry
	// none. With it, the batch keeps the newest row per key and a matched
	// row is updated only when the incoming row is newer.
	UpdatedAt string
	// Columns are the columns written (unquoted), in target order. Every
	// key column and UpdatedAt must be among them.
	Columns []string
}

// The aliases the merge statement gives its two sides.
const (
	mergeTarget = "__elt_target"
	mergeSource = "__elt_source"
)

// Reduce returns a query over source (a relation or parenthesised query)
// keeping one row per key: the one with the greatest updatedAt (NULLs
// count as oldest), ties broken by comparing whole rows, so that the
// choice never depends on the order rows arrive in. With no updatedAt the
// whole row decides. The result has the source's columns.
func Reduce(source string, key []string, updatedAt string) string {
	const alias = "__elt_row"
	var order []string
	if updatedAt != "" {
		order = append(order, quoteIdent(updatedAt)+" DESC NULLS LAST")
	}
	// The alias names the whole row as a struct; structs compare field by
	// field, which makes the tie-break total.
	order = append(order, alias+" DESC")
	return "SELECT * FROM " + source + " AS " + alias +
		" QUALIFY row_number() OVER (PARTITION BY " + joinIdents(key, "") + " ORDER BY " + strings.Join(order, ", ") + ") = 1"
}

// Merge returns the MERGE INTO statement upserting the reduced batch into
// the target: keys match with IS NOT DISTINCT FROM (a NULL key matches a
// NULL key, so a rerun never duplicates it); a matched row is updated only
// when the incoming row is newer by UpdatedAt (always, without it); an
// unmatched row is inserted. The statement is a pure function of spec.
func Merge(spec MergeSpec) (string, error) {
	if err := spec.check(); err != nil {
		return "", err
	}
	return "MERGE INTO " + spec.Target + " AS " + mergeTarget +
		"\nUSING (" + Reduce(spec.Source, spec.UniqueKey, spec.UpdatedAt) + ") AS " + mergeSource +
		"\nON " + spec.On() +
		"\n" + spec.WhenMatched() +
		"\n" + spec.WhenNotMatched(), nil
}

// On is the merge's join condition: every key column equal, NULLs equal.
func (s MergeSpec) On() string {
	conds := make([]string, len(s.UniqueKey))
	for i, k := range s.UniqueKey {
		conds[i] = mergeTarget + "." + quoteIdent(k) + " IS NOT DISTINCT FROM " + mergeSource + "." + quoteIdent(k)
	}
	return strings.Join(conds, " AND ")
}

// Newer is the condition under which a matched row is overwritten: the
// incoming version is later than the stored one, or the stored one is
// NULL. It is "" when the spec has no UpdatedAt (always overwrite).
func (s MergeSpec) Newer() string {
	if s.UpdatedAt == "" {
		return ""
	}
	u := quoteIdent(s.UpdatedAt)
	return "(" + mergeTarget + "." + u + " IS NULL OR " + mergeSource + "." + u + " > " + mergeTarget + "." + u + ")"
}

// WhenMatched is the WHEN MATCHED clause updating every non-key column.
// With only key columns there is nothing to update, and the clause does
// nothing.
func (s MergeSpec) WhenMatched() string {
	cond := ""
	if n := s.Newer(); n != "" {
		cond = " AND " + n
	}
	keys := map[string]bool{}
	for _, k := range s.UniqueKey {
		keys[k] = true
	}
	var sets []string
	for _, c := range s.Columns {
		if !keys[c] {
			sets = append(sets, quoteIdent(c)+" = "+mergeSource+"."+quoteIdent(c))
		}
	}
	if len(sets) == 0 {
		return "WHEN MATCHED THEN DO NOTHING"
	}
	return "WHEN MATCHED" + cond + " THEN UPDATE SET " + strings.Join(sets, ", ")
}

// WhenNotMatched is the WHEN NOT MATCHED clause inserting every column.
func (s MergeSpec) WhenNotMatched() string {
	return "WHEN NOT MATCHED THEN INSERT (" + joinIdents(s.Columns, "") + ") VALUES (" + joinIdents(s.Columns, mergeSource+".") + ")"
}

func (s MergeSpec) check() error {
	if s.Target == "" || s.Source == "" {
		return errors.New("merge needs a target and a source")
	}
	if len(s.UniqueKey) == 0 {
		return errors.New("incremental_strategy 'merge' needs a unique_key — set unique_key to the column (or list of columns) identifying a row")
	}
	have := map[string]bool{}
	for _, c := range s.Columns {
		have[c] = true
	}
	for _, k := range s.UniqueKey {
		if !have[k] {
			return errors.New("unique_key column " + quoteIdent(k) + " is not a column of the model — list columns the model's SELECT returns")
		}
	}
	if s.UpdatedAt != "" && !have[s.UpdatedAt] {
		return errors.New("updated_at column " + quoteIdent(s.UpdatedAt) + " is not a column of the model — name a column the model's SELECT returns")
	}
	return nil
}

// joinIdents quotes each name, prefixes it, and joins them with ", ".
func joinIdents(names []string, prefix string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + quoteIdent(n)
	}
	return strings.Join(out, ", ")
}

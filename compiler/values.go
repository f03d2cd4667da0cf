package compiler

import (
	"fmt"
	"strings"
	"time"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// relation is what ref(), source() and this return: it renders as the
// quoted relation (or, for a file source, its reader expression; for an
// ephemeral model, its CTE name) and exposes schema, name and identifier.
type relation struct {
	Schema     string
	Identifier string
	expr       string // rendered form when not "schema"."identifier"
}

func (r relation) String() string {
	if r.expr != "" {
		return r.expr
	}
	return quoteIdent(r.Schema) + "." + quoteIdent(r.Identifier)
}

// GetAttribute implements exec.AttributeGetter.
func (r relation) GetAttribute(name string) (*exec.Value, bool) {
	switch name {
	case "schema":
		return exec.AsValue(r.Schema), true
	case "name", "identifier", "table":
		return exec.AsValue(r.Identifier), true
	case "database":
		return exec.AsValue(""), true
	}
	return exec.AsValue(nil), false
}

// quoteIdent double-quotes a SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// table is what run_query() returns, shaped like dbt's agate table:
// iterating it gives rows, t.rows is the list of rows, t.columns the list
// of columns (each with .name and .values()), t.column_names their names,
// t[i] is row i. A row is indexed by position or column name. An empty
// result has no columns.
type table []*row

func newTable(res *QueryResult) table {
	if res == nil {
		return table{}
	}
	t := make(table, len(res.Rows))
	for i, r := range res.Rows {
		t[i] = &row{cols: res.Columns, vals: r}
	}
	return t
}

// GetAttribute implements exec.AttributeGetter.
func (t table) GetAttribute(name string) (*exec.Value, bool) {
	switch name {
	case "rows":
		return exec.AsValue([]*row(t)), true
	case "column_names":
		return exec.AsValue(t.columnNames()), true
	case "columns":
		names := t.columnNames()
		cols := make([]*column, len(names))
		for i, n := range names {
			col := &column{name: n}
			for _, r := range t {
				col.vals = append(col.vals, r.vals[i])
			}
			cols[i] = col
		}
		return exec.AsValue(cols), true
	}
	return exec.AsValue(nil), false
}

// columnNames returns the result's column names; an empty result has none.
func (t table) columnNames() []string {
	if len(t) == 0 {
		return []string{}
	}
	return t[0].cols
}

// row is one row of a run_query() result.
type row struct {
	cols []string
	vals []any
}

// GetItem implements exec.ItemGetter: row[0] or row['name'].
func (r *row) GetItem(key any) (*exec.Value, bool) {
	switch k := key.(type) {
	case int:
		if k < 0 {
			k += len(r.vals)
		}
		if k >= 0 && k < len(r.vals) {
			return exec.AsValue(r.vals[k]), true
		}
	case string:
		for i, c := range r.cols {
			if c == k {
				return exec.AsValue(r.vals[i]), true
			}
		}
	}
	return exec.AsValue(nil), false
}

// GetAttribute implements exec.AttributeGetter: row.name.
func (r *row) GetAttribute(name string) (*exec.Value, bool) {
	if name == "values" {
		return exec.AsValue(func() []any { return r.vals }), true
	}
	return r.GetItem(name)
}

func (r *row) String() string {
	parts := make([]string, len(r.vals))
	for i, v := range r.vals {
		parts[i] = fmt.Sprint(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// column is one column of a run_query() result.
type column struct {
	name string
	vals []any
}

// GetAttribute implements exec.AttributeGetter.
func (c *column) GetAttribute(name string) (*exec.Value, bool) {
	switch name {
	case "name":
		return exec.AsValue(c.name), true
	case "values":
		return exec.AsValue(func() []any { return c.vals }), true
	}
	return exec.AsValue(nil), false
}

func (c *column) String() string { return c.name }

// datetime is run_started_at: it renders in ISO form and offers the
// strftime, isoformat and date parts dbt users reach for.
type datetime struct{ t time.Time }

func (d datetime) String() string { return d.t.Format("2006-01-02 15:04:05.000000-07:00") }

// GetAttribute implements exec.AttributeGetter.
func (d datetime) GetAttribute(name string) (*exec.Value, bool) {
	switch name {
	case "isoformat":
		return exec.AsValue(func() string { return d.t.Format("2006-01-02T15:04:05.000000-07:00") }), true
	case "strftime":
		return exec.AsValue(func(f string) string { return strftime(d.t, f) }), true
	case "timestamp":
		return exec.AsValue(func() float64 { return float64(d.t.UnixNano()) / 1e9 }), true
	case "year":
		return exec.AsValue(d.t.Year()), true
	case "month":
		return exec.AsValue(int(d.t.Month())), true
	case "day":
		return exec.AsValue(d.t.Day()), true
	case "hour":
		return exec.AsValue(d.t.Hour()), true
	case "minute":
		return exec.AsValue(d.t.Minute()), true
	case "second":
		return exec.AsValue(d.t.Second()), true
	}
	return exec.AsValue(nil), false
}

// strftime formats t with the common Python directives.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'f':
			fmt.Fprintf(&b, "%06d", t.Nanosecond()/1000)
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 's':
			fmt.Fprintf(&b, "%d", t.Unix())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

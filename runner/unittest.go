package runner

import (
	"context"
	"encoding/csv"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/warehouse"
)

// maxDiffRows caps the differing rows a failed unit test prints.
const maxDiffRows = 20

// runUnitTest runs a unit test in an in-memory database of its own: it
// creates each fixture table (typed like the real input when that exists
// in the target database, else from the values), runs the model's SQL
// compiled against them, and compares the result with the expected rows on
// the expected columns, as multisets. A difference fails the test with the
// rows that differ: "-" expected but not returned, "+" returned but not
// expected.
func (r *run) runUnitTest(ctx context.Context, n *manifest.Node) NodeResult {
	nr := NodeResult{NodeID: n.ID, Status: StatusError, Rows: -1, Failures: -1, CompiledPath: n.CompiledPath,
		Started: time.Now(), RowsRead: -1, RowsWritten: -1, RowsQuarantined: -1, RowsRejected: -1}
	info := n.TestInfo.Unit
	if info == nil {
		return endTest(nr, "unit test "+n.Name+" has no fixtures")
	}
	db, err := warehouse.Open(ctx, warehouse.Memory, warehouse.Settings{Threads: 1})
	if err != nil {
		return endTest(nr, err.Error())
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		return endTest(nr, err.Error())
	}
	defer c.Close()
	for _, g := range info.Given {
		cols := r.realColumns(ctx, g.Relation)
		stmt, err := fixtureSQL(g.Table, g.UnitRows, cols)
		if err != nil {
			return endTest(nr, fmt.Sprintf("%sgiven %s: %v", posPrefix(n.Pos), g.Input, err))
		}
		if err := c.Exec(ctx, stmt); err != nil {
			return endTest(nr, fmt.Sprintf("%sgiven %s: %v", posPrefix(n.Pos), g.Input, err))
		}
	}
	if err := c.Exec(ctx, "CREATE TABLE elt_actual AS "+testSQL(n)); err != nil {
		return endTest(nr, r.errorMessage(ctx, n, "", err))
	}
	actual, err := c.Query(ctx, "SELECT * FROM elt_actual LIMIT 0")
	if err != nil {
		return endTest(nr, err.Error())
	}
	types := map[string]string{}
	for i, col := range actual.Columns {
		types[col] = actual.Types[i]
	}
	exp, err := parseRows(info.Expect)
	if err != nil {
		return endTest(nr, fmt.Sprintf("%sexpect: %v", posPrefix(n.Pos), err))
	}
	var missing []string
	expCols := make([]column, len(exp.cols))
	for i, col := range exp.cols {
		t, ok := types[col]
		if !ok {
			missing = append(missing, col)
		}
		expCols[i] = column{name: col, typ: t}
	}
	if len(missing) > 0 {
		return endTest(nr, fmt.Sprintf("%sexpect names column%s %s, which model %s does not return (it returns %s)",
			posPrefix(n.Pos), pluralWord(len(missing)), strings.Join(missing, ", "), info.Model, strings.Join(actual.Columns, ", ")))
	}
	stmt, err := fixtureSQL("elt_expected", info.Expect, expCols)
	if err != nil {
		return endTest(nr, fmt.Sprintf("%sexpect: %v", posPrefix(n.Pos), err))
	}
	if err := c.Exec(ctx, stmt); err != nil {
		return endTest(nr, fmt.Sprintf("%sexpect: %v", posPrefix(n.Pos), err))
	}
	list := quotedList(exp.cols)
	diff, err := c.Query(ctx, "SELECT * FROM (SELECT '-' AS elt_diff, * FROM (SELECT "+list+" FROM elt_expected EXCEPT ALL SELECT "+list+" FROM elt_actual)"+
		" UNION ALL SELECT '+' AS elt_diff, * FROM (SELECT "+list+" FROM elt_actual EXCEPT ALL SELECT "+list+" FROM elt_expected)) ORDER BY "+diffOrder(len(exp.cols)))
	if err != nil {
		return endTest(nr, err.Error())
	}
	nr.Failures = int64(len(diff.Rows))
	if len(diff.Rows) == 0 {
		nr.Status = StatusPass
		return endTest(nr, "")
	}
	nr.Status = StatusFail
	var b strings.Builder
	fmt.Fprintf(&b, "unit test %s: model %s returned rows that differ from expect (- expected, not returned; + returned, not expected):",
		n.Name, strings.TrimPrefix(string(info.Model), "model."))
	for i, row := range diff.Rows {
		if i == maxDiffRows {
			fmt.Fprintf(&b, "\n  … and %d more", len(diff.Rows)-maxDiffRows)
			break
		}
		parts := make([]string, 0, len(row)-1)
		for j, v := range row[1:] {
			parts = append(parts, diff.Columns[j+1]+": "+formatValue(v))
		}
		fmt.Fprintf(&b, "\n  %s {%s}", row[0], strings.Join(parts, ", "))
	}
	return endTest(nr, b.String())
}

// realColumns returns the columns and types of relation in the target
// database, or nil when it cannot be read (it does not exist yet).
func (r *run) realColumns(ctx context.Context, relation string) []column {
	if relation == "" {
		return nil
	}
	res, err := r.db.Query(ctx, "SELECT * FROM "+relation+" LIMIT 0")
	if err != nil {
		return nil
	}
	cols := make([]column, len(res.Columns))
	for i, c := range res.Columns {
		cols[i] = column{name: c, typ: res.Types[i]}
	}
	return cols
}

// column is a fixture column; typ "" means inferred from the values.
type column struct{ name, typ string }

// fixtureRows is parsed fixture rows: column names in order and each row's
// values by column (nil for NULL or absent).
type fixtureRows struct {
	cols []string
	rows [][]any
}

// parseRows parses rows given as maps (columns sorted by name) or as CSV
// text with a header (empty fields are NULL).
func parseRows(u manifest.UnitRows) (fixtureRows, error) {
	var f fixtureRows
	if u.CSV != "" {
		recs, err := csv.NewReader(strings.NewReader(strings.TrimSpace(u.CSV))).ReadAll()
		if err != nil {
			return f, fmt.Errorf("csv: %v", err)
		}
		if len(recs) == 0 {
			return f, fmt.Errorf("csv needs a header line")
		}
		for _, h := range recs[0] {
			f.cols = append(f.cols, strings.TrimSpace(h))
		}
		for _, rec := range recs[1:] {
			row := make([]any, len(f.cols))
			for i := range f.cols {
				if i < len(rec) && strings.TrimSpace(rec[i]) != "" {
					row[i] = csvValue(strings.TrimSpace(rec[i]))
				}
			}
			f.rows = append(f.rows, row)
		}
		return f, nil
	}
	seen := map[string]bool{}
	for _, m := range u.Rows {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				f.cols = append(f.cols, k)
			}
		}
	}
	sort.Strings(f.cols)
	for _, m := range u.Rows {
		row := make([]any, len(f.cols))
		for i, c := range f.cols {
			row[i] = m[c]
		}
		f.rows = append(f.rows, row)
	}
	return f, nil
}

// csvValue types a CSV field like YAML would: integers, numbers and
// booleans, else a string.
func csvValue(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	switch strings.ToLower(s) {
	case "true":
		return true
	case "false":
		return false
	}
	return s
}

var (
	dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	tsRE   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$`)
)

// inferType returns the DuckDB type of a fixtureRows column's values.
func inferType(vals []any) string {
	t := ""
	merge := func(x string) {
		switch {
		case t == "" || t == x:
			t = x
		case (t == "BIGINT" && x == "DOUBLE") || (t == "DOUBLE" && x == "BIGINT"):
			t = "DOUBLE"
		case (t == "DATE" && x == "TIMESTAMP") || (t == "TIMESTAMP" && x == "DATE"):
			t = "TIMESTAMP"
		default:
			t = "VARCHAR"
		}
	}
	for _, v := range vals {
		switch x := v.(type) {
		case nil:
		case bool:
			merge("BOOLEAN")
		case int, int64:
			merge("BIGINT")
		case float64:
			merge("DOUBLE")
		case string:
			switch {
			case dateRE.MatchString(x):
				merge("DATE")
			case tsRE.MatchString(x):
				merge("TIMESTAMP")
			default:
				merge("VARCHAR")
			}
		default:
			merge("VARCHAR")
		}
	}
	if t == "" {
		return "VARCHAR"
	}
	return t
}

// fixtureSQL returns the CREATE TABLE of a fixtureRows. With known columns
// (cols with types), the table has exactly those columns, absent values
// NULL; a fixtureRows column not among them is an error. Otherwise the columns
// are the fixtureRows's, typed from their values.
func fixtureSQL(table string, u manifest.UnitRows, cols []column) (string, error) {
	f, err := parseRows(u)
	if err != nil {
		return "", err
	}
	idx := map[string]int{}
	for i, c := range f.cols {
		idx[c] = i
	}
	if len(cols) == 0 {
		cols = make([]column, len(f.cols))
		for i, c := range f.cols {
			vals := make([]any, len(f.rows))
			for j, row := range f.rows {
				vals[j] = row[i]
			}
			cols[i] = column{name: c, typ: inferType(vals)}
		}
	} else {
		known := map[string]bool{}
		for _, c := range cols {
			known[c.name] = true
		}
		for _, c := range f.cols {
			if !known[c] {
				names := make([]string, len(cols))
				for i, k := range cols {
					names[i] = k.name
				}
				return "", fmt.Errorf("column %s is not a column of the input (its columns: %s)", c, strings.Join(names, ", "))
			}
		}
	}
	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = warehouse.QuoteIdent(c.name) + " " + c.typ
	}
	stmt := "CREATE TABLE " + warehouse.QuoteIdent(table) + " (" + strings.Join(defs, ", ") + ")"
	if len(f.rows) == 0 {
		return stmt, nil
	}
	rows := make([]string, len(f.rows))
	for j, row := range f.rows {
		vals := make([]string, len(cols))
		for i, c := range cols {
			var v any
			if k, ok := idx[c.name]; ok {
				v = row[k]
			}
			vals[i] = "CAST(" + literal(v) + " AS " + c.typ + ")"
		}
		rows[j] = "(" + strings.Join(vals, ", ") + ")"
	}
	return stmt + ";\nINSERT INTO " + warehouse.QuoteIdent(table) + " VALUES " + strings.Join(rows, ", "), nil
}

// literal renders a fixtureRows value as SQL.
func literal(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return warehouse.QuoteString(x)
	}
	return warehouse.QuoteString(fmt.Sprint(v))
}

// diffOrder orders diff rows: expected ("-") first, then by every column.
func diffOrder(cols int) string {
	parts := []string{"1 DESC"}
	for i := 2; i <= cols+1; i++ {
		parts = append(parts, strconv.Itoa(i))
	}
	return strings.Join(parts, ", ")
}

func quotedList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = warehouse.QuoteIdent(c)
	}
	return strings.Join(q, ", ")
}

// formatValue renders a value of a diff row.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02 15:04:05.999999")
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}

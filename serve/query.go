package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/warehouse"
)

// filter is one column's equality condition: the column equals any of
// args (one arg: =, several: IN).
type filter struct {
	col  warehouse.Column
	raw  []string // the values as sent, deduplicated, in request order
	args []any    // the values as bound
}

// request is a parsed lookup.
type request struct {
	model   *model
	filters []filter // sorted by column name
	latest  bool
	limit   int
}

// lookup answers GET /features/<name>?<query> with the JSON body, or an
// error. When the query fails because the table changed under the cached
// metadata or statements, it forgets them and tries once more.
func (h *Handler) lookup(ctx context.Context, name, rawQuery string) ([]byte, error) {
	m := h.models[name]
	if m == nil {
		return nil, h.unknownModel(name)
	}
	values, err := parseQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		meta, err := h.meta(ctx, m)
		if err != nil {
			return nil, err
		}
		req, err := parseRequest(m, meta, values)
		if err != nil {
			var ae *apiError
			if attempt == 0 && errors.As(err, &ae) && ae.stale {
				// The column may have been added since the metadata was
				// cached.
				h.forget(m)
				continue
			}
			return nil, err
		}
		if body, ok := h.fromIndex(ctx, req, meta); ok {
			return body, nil
		}
		body, err := h.run(ctx, req)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if attempt == 0 && schemaChanged(err) {
			h.forget(m)
			continue
		}
		if conversion(err) {
			return nil, h.badValue(ctx, req, err)
		}
		var ae *apiError
		if errors.As(err, &ae) {
			return nil, err
		}
		return nil, fmt.Errorf("lookup in %s failed: %w", m.Name, err)
	}
}

// parseRequest checks the query parameters of a lookup against the
// model's columns.
func parseRequest(m *model, meta *tableMeta, values map[string][]string) (*request, error) {
	req := &request{model: m, limit: DefaultLimit}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]int{} // column → index in req.filters
	nvalues := 0
	for _, k := range keys {
		vs := values[k]
		switch k {
		case "latest":
			b, err := strconv.ParseBool(last(vs))
			if err != nil {
				return nil, badRequest("latest=%q is not a boolean — use latest=true or latest=false", last(vs))
			}
			req.latest = b
			continue
		case "limit":
			n, err := strconv.Atoi(last(vs))
			if err != nil || n < 1 || n > MaxLimit {
				return nil, badRequest("limit=%q is not valid — use an integer from 1 to %d", last(vs), MaxLimit)
			}
			req.limit = n
			continue
		}
		col, ok := meta.column(k)
		if !ok {
			return nil, unknownColumn(m.Name, k, meta)
		}
		i, ok := seen[col.Name]
		if !ok {
			i = len(req.filters)
			seen[col.Name] = i
			req.filters = append(req.filters, filter{col: col})
		}
		f := &req.filters[i]
		for _, v := range vs {
			if contains(f.raw, v) {
				continue
			}
			nvalues++
			if nvalues > maxValues {
				return nil, badRequest("too many filter values — at most %d per request", maxValues)
			}
			arg, err := bindValue(col, v)
			if err != nil {
				return nil, err
			}
			f.raw = append(f.raw, v)
			f.args = append(f.args, arg)
		}
	}
	sort.Slice(req.filters, func(i, j int) bool { return req.filters[i].col.Name < req.filters[j].col.Name })
	if req.latest {
		if m.EventTime == "" || len(m.UniqueKey) == 0 {
			return nil, badRequest("latest=true needs a model with both event_time and unique_key — %s has %s",
				m.Name, missingConfig(m))
		}
	}
	for _, c := range orderColumns(m) {
		if _, ok := meta.index[c]; !ok {
			return nil, fmt.Errorf("model %s is configured with column %q (unique_key or event_time) but its table %s has no such column — fix the model's config and rebuild it", m.Name, c, m.Relation)
		}
	}
	return req, nil
}

func last(vs []string) string { return vs[len(vs)-1] }

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func missingConfig(m *model) string {
	switch {
	case m.EventTime == "" && len(m.UniqueKey) == 0:
		return "neither"
	case m.EventTime == "":
		return "no event_time"
	}
	return "no unique_key"
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// unknownColumn is the 400 for a filter on a column the table lacks.
func unknownColumn(model, name string, meta *tableMeta) *apiError {
	msg := fmt.Sprintf("model %s has no column %q", model, name)
	if s := diag.Suggest(name, meta.names()); s != "" {
		msg += fmt.Sprintf(" — did you mean %q?", s)
	} else {
		msg += " — filter on one of its columns"
	}
	return &apiError{status: http.StatusBadRequest, msg: msg, stale: true,
		extra: map[string]any{"model": model, "columns": meta.names()}}
}

// baseType returns the type name without its parameters, upper case:
// "DECIMAL(10,2)" → "DECIMAL".
func baseType(t string) string {
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = t[:i]
	}
	return strings.ToUpper(strings.TrimSpace(t))
}

// bindValue converts a request value to the argument bound for col. Numbers
// and booleans are checked here, strictly (1.5 is not a BIGINT); values of
// other types go to DuckDB as strings, which it casts to the column's type
// (a failure is reported by badValue).
func bindValue(col warehouse.Column, v string) (any, error) {
	bad := func() error {
		return notOfType(v, col)
	}
	switch typ := baseType(col.Type); typ {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT":
		bits := map[string]int{"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "BIGINT": 64}[typ]
		n, err := strconv.ParseInt(v, 10, bits)
		if err != nil {
			return nil, bad()
		}
		return n, nil
	case "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT":
		bits := map[string]int{"UTINYINT": 8, "USMALLINT": 16, "UINTEGER": 32, "UBIGINT": 64}[typ]
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return nil, bad()
		}
		return n, nil
	case "HUGEINT", "UHUGEINT":
		n, ok := new(big.Int).SetString(v, 10)
		if !ok || n.BitLen() > 127 || (typ == "UHUGEINT" && n.Sign() < 0) {
			return nil, bad()
		}
		return n.String(), nil
	case "FLOAT", "DOUBLE", "REAL":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, bad()
		}
		return f, nil
	case "BOOLEAN":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, bad()
		}
		return b, nil
	case "VARCHAR":
		return v, nil
	}
	if strings.ContainsAny(col.Type, "[]") || strings.HasPrefix(baseType(col.Type), "STRUCT") ||
		strings.HasPrefix(baseType(col.Type), "MAP") || strings.HasPrefix(baseType(col.Type), "UNION") {
		return nil, badRequest("cannot filter on %s: its type %s is not a scalar — filter on another column", col.Name, col.Type)
	}
	return v, nil
}

// notOfType is the 400 for a value v that is not of col's type.
func notOfType(v string, col warehouse.Column) *apiError {
	return badRequest("value %q for %s is not %s %s", v, col.Name, article(col.Type), col.Type)
}

// article is the indefinite article of a type name as it is read aloud:
// "an" before A, E, I and O (an INTEGER, an INTERVAL), "a" otherwise (a
// BIGINT, and a UUID or a UBIGINT, whose U sounds like "you").
func article(typ string) string {
	if typ != "" && strings.ContainsRune("AEIOaeio", rune(typ[0])) {
		return "an"
	}
	return "a"
}

// conversion reports whether err is DuckDB failing to cast a bound value.
func conversion(err error) bool {
	var we *warehouse.Error
	return errors.As(err, &we) && (we.Kind == "Conversion Error" || we.Kind == "Invalid Input Error")
}

// badValue finds which string value of req DuckDB could not cast to its
// column's type, by casting each alone, and returns the 400 naming it.
// The type in the probe's SQL is the column's, as DuckDB described it; the
// value stays a bound parameter.
func (h *Handler) badValue(ctx context.Context, req *request, cause error) error {
	for _, f := range req.filters {
		for i, a := range f.args {
			if _, ok := a.(string); !ok {
				continue
			}
			if _, err := h.db.Query(ctx, "SELECT CAST(? AS "+f.col.Type+")", a); err != nil {
				return notOfType(f.raw[i], f.col)
			}
		}
	}
	return badRequest("a filter value does not fit its column's type: %v", cause)
}

// orderColumns are the columns rows are ordered by: the unique_key, then
// event_time when it is not part of it.
func orderColumns(m *model) []string {
	cols := append([]string(nil), m.UniqueKey...)
	if m.EventTime != "" && !contains(cols, m.EventTime) {
		cols = append(cols, m.EventTime)
	}
	return cols
}

// keyColumns are the columns latest=true groups by: the unique_key minus
// event_time.
func keyColumns(m *model) []string {
	var cols []string
	for _, c := range m.UniqueKey {
		if c != m.EventTime {
			cols = append(cols, c)
		}
	}
	return cols
}

// latestScan bounds the rows a latest=true lookup reduces in Go; beyond it
// DuckDB reduces them.
const latestScan = 10000

// run executes req. The fast path reads the matching rows unordered, with
// a limit one past what it can finish in Go, then orders them (and keeps
// the newest per key for latest=true) in Go: DuckDB's sort and window
// operators cost more than the lookup itself. When more rows match, or a
// key column's values cannot be compared in Go, DuckDB orders and limits.
func (h *Handler) run(ctx context.Context, req *request) ([]byte, error) {
	where, args := whereClause(req)
	rel := req.model.Relation
	scan := req.limit
	if req.latest {
		scan = max(req.limit, latestScan)
	}
	res, err := h.query(ctx, req.model.Name, "SELECT * FROM "+rel+where+" LIMIT ?", append(args, int64(scan+1)))
	if err != nil {
		return nil, err
	}
	if len(res.Rows) <= scan && !h.sqlOnly {
		if rows, ok := finish(req, res); ok {
			return encode(req.model.Name, res, rows, req.limit)
		}
	}
	q := "SELECT * FROM " + rel + where
	order := quoteAll(orderColumns(req.model))
	if req.latest {
		partition := ""
		if keys := keyColumns(req.model); len(keys) > 0 {
			partition = "PARTITION BY " + strings.Join(quoteAll(keys), ", ") + " "
		}
		q += " QUALIFY row_number() OVER (" + partition + "ORDER BY " + warehouse.QuoteIdent(req.model.EventTime) + " DESC NULLS LAST) = 1"
		order = append(quoteAll(keyColumns(req.model)), warehouse.QuoteIdent(req.model.EventTime))
	}
	if len(order) == 0 {
		q += " ORDER BY ALL"
	} else {
		q += " ORDER BY " + strings.Join(order, " NULLS LAST, ") + " NULLS LAST"
	}
	res, err = h.query(ctx, req.model.Name, q+" LIMIT ?", append(args, int64(req.limit+1)))
	if err != nil {
		return nil, err
	}
	return encode(req.model.Name, res, res.Rows, req.limit)
}

// whereClause renders req's filters with ? parameters.
func whereClause(req *request) (string, []any) {
	if len(req.filters) == 0 {
		return "", nil
	}
	var b strings.Builder
	var args []any
	for i, f := range req.filters {
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		b.WriteString(warehouse.QuoteIdent(f.col.Name))
		if len(f.args) == 1 {
			b.WriteString(" = ?")
		} else {
			b.WriteString(" IN (?" + strings.Repeat(", ?", len(f.args)-1) + ")")
		}
		args = append(args, f.args...)
	}
	return b.String(), args
}

func quoteAll(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = warehouse.QuoteIdent(c)
	}
	return out
}

// query runs q through a cached prepared statement.
func (h *Handler) query(ctx context.Context, model, q string, args []any) (*warehouse.Result, error) {
	st, err := h.stmts.get(ctx, h.db, model, q)
	if err != nil {
		return nil, err
	}
	return st.Query(ctx, args...)
}

// maxStmts bounds the prepared statements kept; beyond it, the cache is
// emptied and refills with the shapes in use.
const maxStmts = 256

// stmtCache keeps one prepared statement per SQL text.
type stmtCache struct {
	mu      sync.RWMutex
	entries map[string]*stmtEntry
}

type stmtEntry struct {
	model string
	stmt  *warehouse.Stmt
}

// get returns the prepared statement of q, preparing it when missing.
func (c *stmtCache) get(ctx context.Context, db *warehouse.DB, model, q string) (*warehouse.Stmt, error) {
	c.mu.RLock()
	e := c.entries[q]
	c.mu.RUnlock()
	if e != nil {
		return e.stmt, nil
	}
	st, err := db.Prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[q]; e != nil {
		st.Close()
		return e.stmt, nil
	}
	if len(c.entries) >= maxStmts {
		for k, e := range c.entries {
			retire(e.stmt)
			delete(c.entries, k)
		}
	}
	c.entries[q] = &stmtEntry{model: model, stmt: st}
	return st, nil
}

// dropModel closes and forgets the statements of model.
func (c *stmtCache) dropModel(model string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.model == model {
			retire(e.stmt)
			delete(c.entries, k)
		}
	}
}

// retire closes a statement dropped from the cache a moment later, so a
// request that took it just before it was dropped can still start its
// query (database/sql refuses new queries on a closed Stmt but lets
// running ones finish).
func retire(st *warehouse.Stmt) {
	time.AfterFunc(retireDelay, func() { st.Close() })
}

// retireDelay is how long a dropped statement stays usable.
const retireDelay = 5 * time.Second

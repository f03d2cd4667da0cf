package serve

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/elt-dev/elt/warehouse"
)

// The key index answers the lookups that matter online — by a model's key
// (user_id=42, or several), with optional latest=true and limit — from
// memory: a DuckDB lookup costs 1–2 ms of CPU on a 1M-row table, a map
// lookup microseconds. DuckDB's own persistent indexes are not an option
// (they can be corrupted by WAL replay after a crash).
//
// A model has an index when it has an event_time and a unique_key column
// other than it (its lookup column, of an integer or VARCHAR type), and
// its table has at most maxIndexRows rows. The index is built by one full
// scan, lazily by the first lookup that can use it or eagerly by Warm, and
// is an immutable snapshot swapped atomically: Refresh builds the next one
// from the previous and the rows it re-reads, so a reader sees the table
// before or after a refresh, never between. Nothing else keeps it in sync:
// a process that writes the table must call Refresh after each commit.

// maxIndexRows is the largest table indexed; bigger ones are looked up in
// DuckDB.
const maxIndexRows = 5_000_000

// The waits before a lookup tries again to build an index that could not
// be built.
const (
	retryTooBig = time.Minute
	retryFailed = 5 * time.Second
)

// keyKind is how lookup values are typed as map keys: the values DuckDB
// scans and the values bindValue parses map to the same Go type.
type keyKind int

const (
	signedKey   keyKind = iota + 1 // TINYINT…BIGINT: int64
	unsignedKey                    // UTINYINT…UBIGINT: uint64
	stringKey                      // VARCHAR: string
)

// keyIndex is an immutable snapshot of a model's rows by lookup value.
type keyIndex struct {
	// cols are the table's columns as described when the index was
	// built; a lookup uses the index only while they are current.
	cols []warehouse.Column
	// names and types are the columns of SELECT * (the answer's keys).
	names, types []string
	kind         keyKind
	// layout locates the lookup, ordering and event_time values in a row.
	layout rowPlan
	// rows maps a lookup value to its rows of event_time < recentFrom or
	// NULL (every row when recentFrom is zero), and recent to its rows of
	// event_time ≥ recentFrom; each slice holds NULL event_times first,
	// then ascending event_times. Neither the maps nor the slices are
	// modified once the index is published. The split makes the common
	// refresh — of the same newest window again — a swap of recent alone.
	rows       map[any][]cachedRow
	recentFrom time.Time
	recent     map[any][]cachedRow
	// count and recentCount count the rows of both maps and of recent.
	count, recentCount int
}

// cachedRow is one row: the values it is ordered by and its JSON object.
type cachedRow struct {
	// vals are the values of orderColumns(model), in that order.
	vals []any
	json []byte
}

// rowPlan locates values in a SELECT * row and in cachedRow.vals.
type rowPlan struct {
	lookup int   // position of the lookup column in a row
	vals   []int // positions of orderColumns(model) in a row
	et     int   // index of event_time in vals
	key    []int // indexes of keyColumns(model) in vals
	all    []int // 0…len(vals)-1
	// jsonKeys and baseTypes render a row as encode does.
	jsonKeys  [][]byte
	baseTypes []string
}

// planRows checks that a table with these result columns can be indexed
// for m and locates the values the index needs.
func planRows(m *model, names, types []string) (rowPlan, keyKind, bool) {
	pos := make(map[string]int, len(names))
	for i, n := range names {
		pos[n] = i
	}
	var p rowPlan
	li, ok := pos[m.lookup]
	if !ok {
		return p, 0, false
	}
	p.lookup = li
	var kind keyKind
	switch baseType(types[li]) {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT":
		kind = signedKey
	case "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT":
		kind = unsignedKey
	case "VARCHAR":
		kind = stringKey
	default:
		return p, 0, false
	}
	ei, ok := pos[m.EventTime]
	if !ok || !timeTypes[baseType(types[ei])] {
		return p, 0, false
	}
	order := orderColumns(m)
	at := make(map[string]int, len(order))
	for i, c := range order {
		ri, ok := pos[c]
		if !ok {
			return p, 0, false
		}
		p.vals = append(p.vals, ri)
		p.all = append(p.all, i)
		at[c] = i
	}
	p.et = at[m.EventTime]
	for _, c := range keyColumns(m) {
		p.key = append(p.key, at[c])
	}
	p.jsonKeys, p.baseTypes = rowLayout(names, types)
	return p, kind, true
}

// timeTypes are the event_time types the index handles: their values scan
// as time.Time.
var timeTypes = map[string]bool{"TIMESTAMP": true, "TIMESTAMPTZ": true, "TIMESTAMP WITH TIME ZONE": true,
	"TIMESTAMP_S": true, "TIMESTAMP_MS": true, "TIMESTAMP_NS": true, "DATE": true}

// keyOf converts a scanned or bound lookup value to its map key.
func keyOf(kind keyKind, v any) (any, bool) {
	switch kind {
	case signedKey:
		switch x := v.(type) {
		case int64:
			return v, true // already boxed: no allocation
		case int32:
			return int64(x), true
		case int16:
			return int64(x), true
		case int8:
			return int64(x), true
		}
	case unsignedKey:
		switch x := v.(type) {
		case uint64:
			return v, true
		case uint32:
			return uint64(x), true
		case uint16:
			return uint64(x), true
		case uint8:
			return uint64(x), true
		}
	case stringKey:
		if _, ok := v.(string); ok {
			return v, true
		}
	}
	return nil, false
}

// fromIndex answers req from m's key index when req filters on the lookup
// column only. ok is false when the index cannot answer it, and DuckDB
// must.
func (h *Handler) fromIndex(ctx context.Context, req *request, meta *tableMeta) (body []byte, ok bool) {
	m := req.model
	if h.sqlOnly || h.noIndex || m.lookup == "" || len(req.filters) != 1 || req.filters[0].col.Name != m.lookup {
		return nil, false
	}
	ix := h.index(ctx, m, meta)
	if ix == nil {
		return nil, false
	}
	args := req.filters[0].args
	var rows []cachedRow
	seen := make([]any, 0, len(args))
	for _, a := range args {
		k, ok := keyOf(ix.kind, a)
		if !ok {
			return nil, false
		}
		if containsKey(seen, k) {
			continue // 1 and 01 are one value
		}
		seen = append(seen, k)
		rows = append(append(rows, ix.rows[k]...), ix.recent[k]...)
	}
	rows, ok = ix.finish(rows, req.latest)
	if !ok {
		return nil, false
	}
	return ix.encode(m.Name, rows, req.limit), true
}

func containsKey(keys []any, k any) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// finish orders rows (a slice of the caller's) as finish does an answer
// from DuckDB, keeping for latest the newest row of each key. ok is false
// when a value cannot be ordered in Go.
func (ix *keyIndex) finish(rows []cachedRow, latest bool) ([]cachedRow, bool) {
	order := ix.layout.all
	if latest {
		order = append(append([]int(nil), ix.layout.key...), ix.layout.et)
	}
	ok := true
	sort.SliceStable(rows, func(i, j int) bool {
		c, comparable := compareAt(rows[i].vals, rows[j].vals, order)
		if !comparable {
			ok = false
		}
		return c < 0
	})
	if !ok {
		return nil, false
	}
	if len(rows) == 1 {
		if _, comparable := compareAt(rows[0].vals, rows[0].vals, order); !comparable {
			return nil, false
		}
	}
	if !latest {
		return rows, true
	}
	et := ix.layout.et
	var out []cachedRow
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) {
			if c, _ := compareAt(rows[start].vals, rows[end].vals, ix.layout.key); c != 0 {
				break
			}
			end++
		}
		pick := start
		for i := end - 1; i >= start; i-- {
			if rows[i].vals[et] != nil {
				pick = i
				break
			}
		}
		out = append(out, rows[pick])
		start = end
	}
	return out, true
}

// encode renders rows as encode does.
func (ix *keyIndex) encode(model string, rows []cachedRow, limit int) []byte {
	truncated := len(rows) > limit
	if truncated {
		rows = rows[:limit]
	}
	n := 64
	for _, r := range rows {
		n += len(r.json) + 1
	}
	b := appendHead(make([]byte, 0, n), model, len(rows))
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r.json...)
	}
	return appendTail(b, truncated)
}

// index returns m's key index for a table described by meta, building it
// when there is none and no other build or refresh is running; nil when
// the lookup must go to DuckDB.
func (h *Handler) index(ctx context.Context, m *model, meta *tableMeta) *keyIndex {
	if ix := m.ix.Load(); ix != nil && sameColumns(ix.cols, meta.cols) {
		return ix
	}
	if time.Now().UnixNano() < m.ixRetry.Load() || !m.ixMu.TryLock() {
		return nil
	}
	defer m.ixMu.Unlock()
	if ix := m.ix.Load(); ix != nil && sameColumns(ix.cols, meta.cols) {
		return ix
	}
	ix, err := h.build(ctx, m, meta)
	if err != nil && ctx.Err() == nil {
		m.ixRetry.Store(time.Now().Add(retryFailed).UnixNano())
	}
	m.ix.Store(ix)
	return ix
}

// Warm builds the key index of every model that has one and whose table
// exists, so that no lookup waits for a build. It returns the errors of
// the builds that failed; their models are served by DuckDB meanwhile.
func (h *Handler) Warm(ctx context.Context) error {
	var errs []error
	for _, name := range h.names {
		m := h.models[name]
		if m.lookup == "" {
			continue
		}
		meta, err := h.meta(ctx, m)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.status == http.StatusServiceUnavailable {
				continue // not built yet: the first lookup after it is builds the index
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		m.ixMu.Lock()
		ix, err := h.build(ctx, m, meta)
		m.ix.Store(ix)
		m.ixMu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot index %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Stats describes the key index of one model.
type Stats struct {
	// Indexed says the model's lookups by key are answered from memory.
	Indexed bool
	// Keys and Rows count the lookup values and rows held.
	Keys, Rows int
}

// IndexStats returns the state of model's key index.
func (h *Handler) IndexStats(model string) Stats {
	m := h.models[model]
	if m == nil {
		return Stats{}
	}
	ix := m.ix.Load()
	if ix == nil {
		return Stats{}
	}
	keys := len(ix.rows)
	for k := range ix.recent {
		if _, ok := ix.rows[k]; !ok {
			keys++
		}
	}
	return Stats{Indexed: true, Keys: keys, Rows: ix.count}
}

// build scans m's table into a new index; nil without an error when the
// table cannot be indexed (too big, or of types the index does not
// handle). It runs with m.ixMu held.
func (h *Handler) build(ctx context.Context, m *model, meta *tableMeta) (*keyIndex, error) {
	names, types := make([]string, len(meta.cols)), make([]string, len(meta.cols))
	for i, c := range meta.cols {
		names[i], types[i] = c.Name, c.Type
	}
	if _, _, ok := planRows(m, names, types); !ok {
		return nil, nil
	}
	n, err := h.db.RowCount(ctx, m.Relation)
	if err != nil {
		return nil, err
	}
	if n > maxIndexRows {
		m.ixRetry.Store(time.Now().Add(retryTooBig).UnixNano())
		return nil, nil
	}
	b := &builder{m: m}
	if err := h.scan(ctx, "SELECT * FROM "+m.Relation, nil, b); err != nil {
		return nil, err
	}
	if b.bad || b.count > maxIndexRows {
		m.ixRetry.Store(time.Now().Add(retryTooBig).UnixNano())
		return nil, nil
	}
	return &keyIndex{cols: meta.cols, names: b.names, types: b.types, kind: b.kind, layout: b.plan,
		rows: b.groups(), count: b.count}, nil
}

// Refresh brings model's key index up to date after a commit that
// replaced the rows of event_time ≥ from (from zero: any row): it re-reads
// those rows and publishes, in one atomic swap, the index without the
// rows it held of event_time ≥ from and with the rows re-read. Lookups
// meanwhile see the index as it was. When the table is gone, its columns
// changed or the re-read fails, the index is dropped, and the next lookup
// builds it again. A model without an index (never looked up, or not
// indexable) is left alone; so is an unknown model.
func (h *Handler) Refresh(ctx context.Context, model string, from time.Time) error {
	m := h.models[model]
	if m == nil || m.lookup == "" {
		return nil
	}
	m.ixMu.Lock()
	defer m.ixMu.Unlock()
	old := m.ix.Load()
	if old == nil {
		return nil
	}
	q, args := "SELECT * FROM "+m.Relation, []any(nil)
	if !from.IsZero() {
		q += " WHERE " + warehouse.QuoteIdent(m.EventTime) + " >= ?"
		args = []any{from}
	}
	b := &builder{m: m}
	if old.recent != nil && from.Equal(old.recentFrom) {
		b.prev = old.recent
	}
	err := h.scan(ctx, q, args, b)
	if err == nil && (b.bad || !slices.Equal(b.names, old.names) || !slices.Equal(b.types, old.types)) {
		err = errSchema
	}
	if err != nil {
		m.ix.Store(nil)
		if errors.Is(err, errSchema) || missingTable(err) || schemaChanged(err) {
			h.forget(m)
			return nil
		}
		return fmt.Errorf("cannot refresh the index of %s: %w", model, err)
	}
	next := &keyIndex{cols: old.cols, names: old.names, types: old.types, kind: old.kind, layout: old.layout}
	switch {
	case from.IsZero():
		next.rows, next.count = b.groups(), b.count
	case old.recent != nil && from.Equal(old.recentFrom):
		// The same window again: only recent changes.
		next.rows, next.recentFrom = old.rows, old.recentFrom
		next.recent, next.recentCount = b.groups(), b.count
		next.count = old.count - old.recentCount + b.count
	default:
		var kept int
		next.rows, kept = below(old, from)
		next.recentFrom, next.recent, next.recentCount = from, b.groups(), b.count
		next.count = kept + b.count
	}
	if next.count > maxIndexRows {
		m.ix.Store(nil)
		m.ixRetry.Store(time.Now().Add(retryTooBig).UnixNano())
		return nil
	}
	m.ix.Store(next)
	return nil
}

// errSchema says a refresh read columns other than the index's.
var errSchema = errors.New("the table's columns changed")

// below returns old's rows of event_time < from or NULL, in one map, and
// their count. old is not modified.
func below(old *keyIndex, from time.Time) (map[any][]cachedRow, int) {
	next := maps.Clone(old.rows)
	count := old.count - old.recentCount
	et := old.layout.et
	for k, add := range old.recent {
		base := next[k]
		next[k] = append(append(make([]cachedRow, 0, len(base)+len(add)), base...), add...)
		count += len(add)
	}
	for k, rs := range next {
		if !atOrAfter(rs[len(rs)-1].vals[et], from) {
			continue
		}
		cut := sort.Search(len(rs), func(i int) bool { return atOrAfter(rs[i].vals[et], from) })
		count -= len(rs) - cut
		if cut == 0 {
			delete(next, k)
		} else {
			next[k] = rs[:cut:cut]
		}
	}
	return next, count
}

// atOrAfter reports whether an event_time value is not NULL and ≥ from.
func atOrAfter(v any, from time.Time) bool {
	t, ok := v.(time.Time)
	return ok && !t.Before(from)
}

func sameColumns(a, b []warehouse.Column) bool { return slices.Equal(a, b) }

package serve

import (
	"bytes"
	"context"
	"runtime"
	"sort"
	"time"
)

// builder groups the rows of a scan by lookup value for a key index.
type builder struct {
	m            *model
	names, types []string
	plan         rowPlan
	kind         keyKind
	// bad says the table cannot be indexed: its columns lack one the index
	// needs, or a lookup or event_time value is of an unexpected type.
	bad   bool
	count int
	byKey map[any][]cachedRow
	// jsonBuf and valBuf are chunks the rows' JSON and values are cut
	// from, to allocate per chunk rather than per row.
	jsonBuf []byte
	valBuf  []any
	// prev, when not nil, holds rows a refresh may reuse: a row whose JSON
	// is unchanged keeps its memory, so that re-reading a window allocates
	// only for the rows that changed.
	prev map[any][]cachedRow
	// scratch is the JSON of the row being added; times memoizes the
	// last time of each column and its JSON (a window's rows share one).
	scratch []byte
	times   []timeMemo
}

// timeMemo is a time value and its JSON.
type timeMemo struct {
	t    time.Time
	json []byte
	ok   bool
}

// The chunk sizes of builder.
const (
	jsonChunk = 1 << 20
	valChunk  = 1 << 14
)

// start takes the columns of the scan.
func (b *builder) start(names, types []string) {
	b.names, b.types = names, types
	b.byKey = make(map[any][]cachedRow, len(b.prev))
	b.plan, b.kind, b.bad = planRows(b.m, names, types)
	b.bad = !b.bad
	b.times = make([]timeMemo, len(names))
}

// appendJSON appends row as appendRow does, formatting a time equal to the
// previous row's (same instant, same location) once.
func (b *builder) appendJSON(dst []byte, row []any) []byte {
	dst = append(dst, '{')
	for i, v := range row {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, b.plan.jsonKeys[i]...)
		dst = append(dst, ':')
		if t, ok := v.(time.Time); ok {
			m := &b.times[i]
			if !m.ok || m.t != t {
				m.t, m.ok, m.json = t, true, appendValue(m.json[:0], v, b.plan.baseTypes[i])
			}
			dst = append(dst, m.json...)
			continue
		}
		dst = appendValue(dst, v, b.plan.baseTypes[i])
	}
	return append(dst, '}')
}

// add takes one row; false stops the scan (the table cannot be indexed).
// add keeps the row's values, not the slice.
func (b *builder) add(row []any) bool {
	if b.bad {
		return false
	}
	v := row[b.plan.lookup]
	if v == nil {
		return true // a NULL key equals no lookup value
	}
	k, ok := keyOf(b.kind, v)
	if !ok {
		b.bad = true
		return false
	}
	if et := row[b.plan.vals[b.plan.et]]; et != nil {
		if _, ok := et.(time.Time); !ok {
			b.bad = true
			return false
		}
	}
	b.scratch = b.appendJSON(b.scratch[:0], row)
	for _, r := range b.prev[k] {
		if bytes.Equal(r.json, b.scratch) {
			b.byKey[k] = append(b.byKey[k], r)
			b.count++
			return b.count <= maxIndexRows
		}
	}
	n := len(b.plan.vals)
	if cap(b.valBuf)-len(b.valBuf) < n {
		b.valBuf = make([]any, 0, max(valChunk, n))
	}
	start := len(b.valBuf)
	for _, p := range b.plan.vals {
		b.valBuf = append(b.valBuf, row[p])
	}
	vals := b.valBuf[start:len(b.valBuf):len(b.valBuf)]
	if cap(b.jsonBuf)-len(b.jsonBuf) < len(b.scratch) {
		b.jsonBuf = make([]byte, 0, max(jsonChunk, len(b.scratch)))
	}
	js := len(b.jsonBuf)
	b.jsonBuf = append(b.jsonBuf, b.scratch...)
	b.byKey[k] = append(b.byKey[k], cachedRow{vals: vals, json: b.jsonBuf[js:len(b.jsonBuf):len(b.jsonBuf)]})
	b.count++
	return b.count <= maxIndexRows
}

// groups returns the rows by lookup value, each group with NULL
// event_times first, then in ascending event_time. Each group's slice is
// exactly as long as it is, so that appending to it copies.
func (b *builder) groups() map[any][]cachedRow {
	et := b.plan.et
	less := func(rs []cachedRow) func(i, j int) bool {
		return func(i, j int) bool {
			x, y := rs[i].vals[et], rs[j].vals[et]
			if x == nil || y == nil {
				return x == nil && y != nil
			}
			return x.(time.Time).Before(y.(time.Time))
		}
	}
	for k, rs := range b.byKey {
		if !sort.SliceIsSorted(rs, less(rs)) {
			sort.SliceStable(rs, less(rs))
		}
		b.byKey[k] = rs[:len(rs):len(rs)]
	}
	return b.byKey
}

// scan runs q and hands its columns to b.start and each row to b.add,
// streaming the rows rather than collecting them.
func (h *Handler) scan(ctx context.Context, q string, args []any, b *builder) error {
	c, err := h.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	rows, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	names, types := make([]string, len(cts)), make([]string, len(cts))
	for i, ct := range cts {
		names[i], types[i] = ct.Name(), ct.DatabaseTypeName()
	}
	b.start(names, types)
	vals := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for n := 1; rows.Next(); n++ {
		if n%512 == 0 {
			runtime.Gosched() // let lookups waiting for a P run: a refresh must not stall them
		}
		if err := rows.Scan(ptrs...); err != nil {
			return warehouseError(ctx, err)
		}
		if !b.add(vals) {
			return nil
		}
	}
	return warehouseError(ctx, rows.Err())
}

// warehouseError returns the context's error when ctx is done, else err.
func warehouseError(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

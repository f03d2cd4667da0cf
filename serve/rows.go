package serve

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/elt-dev/elt/warehouse"
)

// finish orders res's rows as the answer lists them — by unique_key, then
// event_time, or by every column when the model has neither — and for
// latest=true keeps only the newest row of each key. ok is false when a
// value of an ordering column cannot be compared in Go (a list, a struct,
// a decimal…); DuckDB then does the work.
func finish(req *request, res *warehouse.Result) (rows [][]any, ok bool) {
	idx := make(map[string]int, len(res.Columns))
	for i, c := range res.Columns {
		idx[c] = i
	}
	positions := func(cols []string) ([]int, bool) {
		out := make([]int, len(cols))
		for i, c := range cols {
			p, found := idx[c]
			if !found {
				return nil, false
			}
			out[i] = p
		}
		return out, true
	}
	m := req.model
	var order, key []int
	var et int
	if req.latest {
		if key, ok = positions(keyColumns(m)); !ok {
			return nil, false
		}
		if et, ok = idx[m.EventTime]; !ok {
			return nil, false
		}
		order = append(append([]int(nil), key...), et)
	} else if cols := orderColumns(m); len(cols) > 0 {
		if order, ok = positions(cols); !ok {
			return nil, false
		}
	} else {
		order = make([]int, len(res.Columns))
		for i := range order {
			order[i] = i
		}
	}
	rows = res.Rows
	ok = true
	sort.SliceStable(rows, func(i, j int) bool {
		c, comparable := compareAt(rows[i], rows[j], order)
		if !comparable {
			ok = false
		}
		return c < 0
	})
	if !ok {
		return nil, false
	}
	if len(rows) == 1 {
		// Nothing was compared: check the row's ordering values alone.
		if _, comparable := compareAt(rows[0], rows[0], order); !comparable {
			return nil, false
		}
	}
	if !req.latest {
		return rows, true
	}
	// Rows of one key are adjacent and in ascending event_time, NULLs last:
	// the newest is the last non-NULL one of each run.
	var out [][]any
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) {
			if c, _ := compareAt(rows[start], rows[end], key); c != 0 {
				break
			}
			end++
		}
		pick := start
		for i := end - 1; i >= start; i-- {
			if rows[i][et] != nil {
				pick = i
				break
			}
		}
		out = append(out, rows[pick])
		start = end
	}
	return out, true
}

// compareAt compares two rows on the columns at positions.
func compareAt(a, b []any, positions []int) (int, bool) {
	for _, p := range positions {
		c, ok := compare(a[p], b[p])
		if !ok {
			return 0, false
		}
		if c != 0 {
			return c, true
		}
	}
	return 0, true
}

// compare orders two values of one column as DuckDB's ORDER BY … NULLS
// LAST does; ok is false for values Go cannot order the same way.
func compare(a, b any) (c int, ok bool) {
	switch {
	case a == nil && b == nil:
		return 0, true
	case a == nil:
		return 1, true
	case b == nil:
		return -1, true
	}
	switch x := a.(type) {
	case int64:
		return cmpSame(x, b)
	case int32:
		return cmpSame(x, b)
	case int16:
		return cmpSame(x, b)
	case int8:
		return cmpSame(x, b)
	case uint64:
		return cmpSame(x, b)
	case uint32:
		return cmpSame(x, b)
	case uint16:
		return cmpSame(x, b)
	case uint8:
		return cmpSame(x, b)
	case string:
		return cmpSame(x, b)
	case float64:
		y, same := b.(float64)
		if !same || math.IsNaN(x) || math.IsNaN(y) {
			return 0, false
		}
		return cmp.Compare(x, y), true
	case float32:
		y, same := b.(float32)
		if !same || x != x || y != y {
			return 0, false
		}
		return cmp.Compare(x, y), true
	case bool:
		y, same := b.(bool)
		if !same {
			return 0, false
		}
		switch {
		case x == y:
			return 0, true
		case !x:
			return -1, true
		}
		return 1, true
	case time.Time:
		y, same := b.(time.Time)
		if !same {
			return 0, false
		}
		return x.Compare(y), true
	case *big.Int:
		y, same := b.(*big.Int)
		if !same {
			return 0, false
		}
		return x.Cmp(y), true
	case []byte: // UUID and BLOB order bytewise
		y, same := b.([]byte)
		if !same {
			return 0, false
		}
		return bytes.Compare(x, y), true
	}
	return 0, false
}

func cmpSame[T cmp.Ordered](x T, b any) (int, bool) {
	y, ok := b.(T)
	if !ok {
		return 0, false
	}
	return cmp.Compare(x, y), true
}

// encode renders the answer {"model", "count", "rows"} with at most limit
// rows, adding "truncated": true when rows holds more.
func encode(model string, res *warehouse.Result, rows [][]any, limit int) ([]byte, error) {
	truncated := len(rows) > limit
	if truncated {
		rows = rows[:limit]
	}
	keys, types := rowLayout(res.Columns, res.Types)
	b := make([]byte, 0, 128+64*len(rows)*len(keys))
	b = appendHead(b, model, len(rows))
	for r, row := range rows {
		if r > 0 {
			b = append(b, ',')
		}
		b = appendRow(b, keys, types, row)
	}
	return appendTail(b, truncated), nil
}

// rowLayout returns the JSON keys (quoted) and base types of columns.
func rowLayout(columns, types []string) (keys [][]byte, base []string) {
	keys = make([][]byte, len(columns))
	base = make([]string, len(columns))
	for i, c := range columns {
		keys[i] = appendString(nil, c)
		base[i] = baseType(types[i])
	}
	return keys, base
}

// appendHead appends the start of an answer of n rows, up to the rows'
// opening bracket.
func appendHead(b []byte, model string, n int) []byte {
	b = append(b, `{"model":`...)
	b = appendString(b, model)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, `,"rows":[`...)
}

// appendTail closes an answer begun by appendHead.
func appendTail(b []byte, truncated bool) []byte {
	b = append(b, ']')
	if truncated {
		b = append(b, `,"truncated":true`...)
	}
	return append(b, "}\n"...)
}

// appendRow appends row as a JSON object with keys and base types as
// rowLayout gives them.
func appendRow(b []byte, keys [][]byte, types []string, row []any) []byte {
	b = append(b, '{')
	for i, v := range row {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, keys[i]...)
		b = append(b, ':')
		b = appendValue(b, v, types[i])
	}
	return append(b, '}')
}

// appendValue appends v, a value of DuckDB type typ (without parameters)
// as duckdb-go scans it, as JSON: NULL, NaN and infinities as null,
// integers and decimals as exact numbers, timestamps as RFC 3339 in UTC,
// dates as YYYY-MM-DD, UUIDs as their text, blobs as base64.
func appendValue(b []byte, v any, typ string) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case float64:
		return appendFloat(b, x, 64)
	case float32:
		return appendFloat(b, float64(x), 32)
	case string:
		return appendString(b, x)
	case *big.Int:
		return x.Append(b, 10)
	case time.Time:
		return appendString(b, formatTime(x, typ))
	case []byte:
		if typ == "UUID" && len(x) == 16 {
			return appendString(b, formatUUID(x))
		}
		return appendString(b, base64.StdEncoding.EncodeToString(x))
	}
	if typ == "DECIMAL" {
		if d, ok := appendDecimal(b, v); ok {
			return d
		}
	}
	if s, ok := v.(fmt.Stringer); ok && typ == "DECIMAL" {
		if t := s.String(); json.Valid([]byte(t)) {
			return append(b, t...)
		}
	}
	j, err := json.Marshal(jsonable(v))
	if err != nil {
		return appendString(b, fmt.Sprint(v))
	}
	return append(b, j...)
}

func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// formatTime renders a DATE, TIME or TIMESTAMP value.
func formatTime(t time.Time, typ string) string {
	switch typ {
	case "DATE":
		return t.Format(time.DateOnly)
	case "TIME":
		return t.Format("15:04:05.999999999")
	case "TIMETZ", "TIME WITH TIME ZONE":
		return t.Format("15:04:05.999999999Z07:00")
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func formatUUID(u []byte) string {
	h := hex.EncodeToString(u)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// jsonable converts a nested value (list, struct, map) to one
// encoding/json renders as appendValue would its parts.
func jsonable(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case float32:
		if x != x || math.IsInf(float64(x), 0) {
			return nil
		}
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *big.Int:
		return json.Number(x.String())
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case fmt.Stringer:
		if _, isMarshaler := v.(json.Marshaler); !isMarshaler {
			if s := x.String(); json.Valid([]byte(s)) && s != "" && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
				return json.Number(s) // a DECIMAL inside a list or struct
			}
		}
	}
	return v
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028 and U+2029 are escaped so the answer is also valid JavaScript.
func appendString(b []byte, s string) []byte {
	const hexdig = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexdig[c>>4], hexdig[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hexdig[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// decimalTypes caches which types are duckdb-go's Decimal: a struct of
// Width uint8, Scale uint8 and Value *big.Int (this package must not
// import duckdb-go).
var decimalTypes sync.Map // reflect.Type → bool

var bigIntPtr = reflect.TypeFor[*big.Int]()

// appendDecimal appends a DECIMAL whose unscaled value fits an int64
// exactly as duckdb-go's Decimal.String renders it — the digits with the
// trailing zeros of the fraction removed — without its allocations. ok is
// false for other values.
func appendDecimal(b []byte, v any) ([]byte, bool) {
	rv := reflect.ValueOf(v)
	t := rv.Type()
	is, known := decimalTypes.Load(t)
	if !known {
		is = t.Kind() == reflect.Struct && t.NumField() == 3 && t.Field(1).Name == "Scale" &&
			t.Field(1).Type.Kind() == reflect.Uint8 && t.Field(2).Name == "Value" && t.Field(2).Type == bigIntPtr
		decimalTypes.Store(t, is)
	}
	if !is.(bool) {
		return b, false
	}
	n, _ := rv.Field(2).Interface().(*big.Int)
	if n == nil || !n.IsInt64() {
		return b, false
	}
	x := n.Int64()
	if x == 0 {
		return append(b, '0'), true
	}
	u := uint64(x)
	if x < 0 {
		b = append(b, '-')
		u = -u
	}
	var buf [24]byte
	digits := strconv.AppendUint(buf[:0], u, 10)
	trimmed := bytes.TrimRight(digits, "0")
	scale := int(rv.Field(1).Uint()) - (len(digits) - len(trimmed))
	switch {
	case scale <= 0:
		b = append(b, trimmed...)
		for range -scale {
			b = append(b, '0')
		}
	case len(trimmed) <= scale:
		b = append(b, '0', '.')
		for range scale - len(trimmed) {
			b = append(b, '0')
		}
		b = append(b, trimmed...)
	default:
		b = append(append(append(b, trimmed[:len(trimmed)-scale]...), '.'), trimmed[len(trimmed)-scale:]...)
	}
	return b, true
}

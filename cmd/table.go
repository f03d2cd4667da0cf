package cmd

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// renderTable formats rows under columns as an aligned Markdown-style table:
// numbers right-aligned, everything else left-aligned, NULL for nil.
func renderTable(columns []string, rows [][]any) string {
	cells := make([][]string, len(rows))
	numeric := make([]bool, len(columns))
	for j := range columns {
		numeric[j] = len(rows) > 0
	}
	for i, r := range rows {
		cells[i] = make([]string, len(columns))
		for j := range columns {
			var v any
			if j < len(r) {
				v = r[j]
			}
			cells[i][j] = formatCell(v)
			if v != nil && !isNumber(v) {
				numeric[j] = false
			}
		}
	}
	width := make([]int, len(columns))
	for j, c := range columns {
		width[j] = utf8.RuneCountInString(c)
		for i := range cells {
			width[j] = max(width[j], utf8.RuneCountInString(cells[i][j]))
		}
		width[j] = max(width[j], 3)
	}
	var b strings.Builder
	writeRow := func(vals []string, rightAlign bool) {
		b.WriteString("|")
		for j, v := range vals {
			pad := strings.Repeat(" ", width[j]-utf8.RuneCountInString(v))
			if rightAlign && numeric[j] {
				b.WriteString(" " + pad + v + " |")
			} else {
				b.WriteString(" " + v + pad + " |")
			}
		}
		b.WriteString("\n")
	}
	writeRow(columns, false)
	sep := make([]string, len(columns))
	for j := range columns {
		sep[j] = strings.Repeat("-", width[j])
	}
	writeRow(sep, false)
	for _, r := range cells {
		writeRow(r, true)
	}
	return b.String()
}

// isNumber reports whether v is a numeric database value.
func isNumber(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, *big.Int:
		return true
	}
	_, decimal := v.(interface{ Float64() float64 })
	return decimal
}

// formatCell renders one database value for a table cell.
func formatCell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strings.ReplaceAll(x, "\n", `\n`)
	case []byte:
		return fmt.Sprintf("%x", x)
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case time.Time:
		switch {
		case x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0:
			return x.Format("2006-01-02")
		case x.Nanosecond() == 0:
			return x.Format("2006-01-02 15:04:05")
		default:
			return x.Format("2006-01-02 15:04:05.999999")
		}
	}
	if s, ok := formatStruct(v); ok {
		return s
	}
	if x, ok := v.(fmt.Stringer); ok {
		return x.String()
	}
	return fmt.Sprint(v)
}

// formatStruct renders duckdb-go's DECIMAL (Width, Scale, Value *big.Int)
// with exactly Scale decimals and its INTERVAL (Months, Days, Micros) as
// DuckDB prints them. cmd cannot import duckdb-go, so it goes by shape.
func formatStruct(v any) (string, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return "", false
	}
	field := func(name string) (reflect.Value, bool) {
		f := rv.FieldByName(name)
		return f, f.IsValid() && f.CanInterface()
	}
	if scale, ok := field("Scale"); ok {
		if val, ok := field("Value"); ok {
			if bi, ok := val.Interface().(*big.Int); ok && bi != nil && scale.CanUint() {
				return formatDecimal(bi, int(scale.Uint())), true
			}
		}
	}
	months, ok1 := field("Months")
	days, ok2 := field("Days")
	micros, ok3 := field("Micros")
	if ok1 && ok2 && ok3 && months.CanInt() && days.CanInt() && micros.CanInt() {
		return formatInterval(months.Int(), days.Int(), micros.Int()), true
	}
	return "", false
}

// formatDecimal renders value / 10^scale with exactly scale decimals.
func formatDecimal(value *big.Int, scale int) string {
	s := new(big.Int).Abs(value).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if value.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// formatInterval renders an interval like DuckDB: "1 month 2 days 03:04:05".
func formatInterval(months, days, micros int64) string {
	var parts []string
	unit := func(n int64, word string) {
		if n == 0 {
			return
		}
		if n == 1 || n == -1 {
			parts = append(parts, fmt.Sprintf("%d %s", n, word))
		} else {
			parts = append(parts, fmt.Sprintf("%d %ss", n, word))
		}
	}
	unit(months/12, "year")
	unit(months%12, "month")
	unit(days, "day")
	if micros != 0 || len(parts) == 0 {
		sign := ""
		if micros < 0 {
			sign, micros = "-", -micros
		}
		d := time.Duration(micros) * time.Microsecond
		t := fmt.Sprintf("%s%02d:%02d:%02d", sign, int64(d.Hours()), int64(d.Minutes())%60, int64(d.Seconds())%60)
		if us := micros % 1e6; us != 0 {
			t += strings.TrimRight(fmt.Sprintf(".%06d", us), "0")
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " ")
}

// formatFloat renders a float without exponent for ordinary magnitudes and
// with the fewest digits that round-trip.
func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) >= 1e15 || (f != 0 && math.Abs(f) < 1e-6) {
		return fmt.Sprint(f)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

package manifest

import (
	"fmt"
	"regexp"
	"strconv"
)

// Threshold is a test's warn_if or error_if condition on its failure
// count, such as "!=0" (the default) or ">10".
type Threshold struct {
	Op    string // one of = != > >= < <=
	Value int64
}

var thresholdRE = regexp.MustCompile(`^\s*(==|=|!=|<>|>=|<=|>|<)\s*(-?\d+)\s*$`)

// DefaultThreshold is dbt's default for both warn_if and error_if.
var DefaultThreshold = Threshold{Op: "!=", Value: 0}

// ParseThreshold parses s; "" gives DefaultThreshold.
func ParseThreshold(s string) (Threshold, error) {
	if s == "" {
		return DefaultThreshold, nil
	}
	m := thresholdRE.FindStringSubmatch(s)
	if m == nil {
		return Threshold{}, fmt.Errorf("%q is not a condition on the failure count — write e.g. \">10\", \"!=0\" or \">=5\"", s)
	}
	v, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return Threshold{}, fmt.Errorf("%q: %v", s, err)
	}
	op := m[1]
	switch op {
	case "==":
		op = "="
	case "<>":
		op = "!="
	}
	return Threshold{Op: op, Value: v}, nil
}

// Holds reports whether n failures meet the condition.
func (t Threshold) Holds(n int64) bool {
	switch t.Op {
	case "=":
		return n == t.Value
	case "!=":
		return n != t.Value
	case ">":
		return n > t.Value
	case ">=":
		return n >= t.Value
	case "<":
		return n < t.Value
	case "<=":
		return n <= t.Value
	}
	return false
}

// TestStatus is the outcome of a test with config cfg that found n failing
// rows: "fail" when its severity is error and error_if holds, else "warn"
// when warn_if holds, else "pass".
func TestStatus(cfg Config, n int64) (string, error) {
	errIf, err := ParseThreshold(cfg.ErrorIf)
	if err != nil {
		return "", fmt.Errorf("error_if: %v", err)
	}
	warnIf, err := ParseThreshold(cfg.WarnIf)
	if err != nil {
		return "", fmt.Errorf("warn_if: %v", err)
	}
	if cfg.Severity != "warn" && errIf.Holds(n) {
		return "fail", nil
	}
	if warnIf.Holds(n) {
		return "warn", nil
	}
	return "pass", nil
}

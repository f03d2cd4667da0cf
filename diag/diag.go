// Package diag carries source positions and the diagnostics elt reports
// against them. Every error a user can fix names a Pos, and a load collects
// every diagnostic into a List instead of stopping at the first one.
package diag

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a project file. File is relative to the project
// directory when the file lies inside it. Line and Col are 1-based; zero
// means unknown.
type Pos struct {
	Col  int    `json:"col,omitempty"`
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

// String renders the position as file:line:col, dropping unknown parts.
func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

// IsZero reports whether the position names no file.
func (p Pos) IsZero() bool { return p.File == "" }

// Severity says whether a diagnostic stops the command.
type Severity int

const (
	// Error diagnostics make the command fail with exit status 2.
	Error Severity = iota
	// Warning diagnostics are printed and the command goes on.
	Warning
)

// Diagnostic is one message about one position. Msg states what is wrong
// and, after " — ", how to fix it.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
}

// Error renders the diagnostic as "file:line:col: msg".
func (d Diagnostic) Error() string {
	prefix := ""
	if s := d.Pos.String(); s != "" {
		prefix = s + ": "
	}
	if d.Severity == Warning {
		prefix += "warning: "
	}
	return prefix + d.Msg
}

// Errorf builds an error diagnostic at pos.
func Errorf(pos Pos, format string, args ...any) Diagnostic {
	return Diagnostic{Pos: pos, Severity: Error, Msg: fmt.Sprintf(format, args...)}
}

// Warnf builds a warning diagnostic at pos.
func Warnf(pos Pos, format string, args ...any) Diagnostic {
	return Diagnostic{Pos: pos, Severity: Warning, Msg: fmt.Sprintf(format, args...)}
}

// List collects diagnostics. The zero value is ready to use.
type List []Diagnostic

// Add appends d.
func (l *List) Add(d Diagnostic) { *l = append(*l, d) }

// Errorf appends an error diagnostic at pos.
func (l *List) Errorf(pos Pos, format string, args ...any) { l.Add(Errorf(pos, format, args...)) }

// Warnf appends a warning diagnostic at pos.
func (l *List) Warnf(pos Pos, format string, args ...any) { l.Add(Warnf(pos, format, args...)) }

// Append adds every diagnostic of other.
func (l *List) Append(other List) { *l = append(*l, other...) }

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Sort orders diagnostics by file, line, column and message, and drops
// exact duplicates, so output is stable from run to run.
func (l *List) Sort() {
	s := *l
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Msg < b.Msg
	})
	out := s[:0]
	for i, d := range s {
		if i > 0 && d == s[i-1] {
			continue
		}
		out = append(out, d)
	}
	*l = out
}

// Err returns the list as an error when it holds at least one error
// diagnostic, sorted; otherwise nil. Warnings travel along in the error.
func (l List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	c := append(List(nil), l...)
	c.Sort()
	return &ListError{List: c}
}

// ListError is the error form of a List. Error renders one diagnostic per line.
type ListError struct{ List List }

func (e *ListError) Error() string {
	var b strings.Builder
	for i, d := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Error())
	}
	return b.String()
}

// AsList extracts the diagnostics from err: a *ListError gives its list, a
// Diagnostic gives itself, any other error becomes one position-less
// diagnostic. A nil err gives nil.
func AsList(err error) List {
	if err == nil {
		return nil
	}
	var le *ListError
	if errors.As(err, &le) {
		return le.List
	}
	var d Diagnostic
	if errors.As(err, &d) {
		return List{d}
	}
	return List{{Severity: Error, Msg: err.Error()}}
}

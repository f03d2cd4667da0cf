package compiler

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/parser"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
)

// templateError is a template failure at a line of a file. Line is 0 when
// gonja gave none.
type templateError struct {
	File string
	Line int
	Msg  string
}

func (e *templateError) Error() string {
	return e.diagnostic().Error()
}

func (e *templateError) diagnostic() diag.Diagnostic {
	return diag.Errorf(diag.Pos{File: e.File, Line: e.Line}, "%s", e.Msg)
}

// translate turns a gonja parse or render error into a *templateError of
// file. lineOffset is added to the line (for templates embedded in YAML).
func translate(err error, file string, lineOffset int) *templateError {
	var te *templateError
	if errors.As(err, &te) {
		return te
	}
	line, msg := explain(err, nil)
	if line > 0 {
		line += lineOffset
	}
	return &templateError{File: file, Line: line, Msg: msg}
}

var (
	atLineRe     = regexp.MustCompile(`^Unable to [a-zA-Z ]+? at line (\d+)`)
	invalidRe    = regexp.MustCompile(`^invalid call to function '[^']*': `)
	undefinedRe  = regexp.MustCompile(`^Unable to evaluate name "([^"]+)"$`)
	notCallRe    = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*) is not callable$`)
	attrRe       = regexp.MustCompile(`^(?i:unable to evaluate) (.+): attribute '([^']+)' not found$`)
	itemRe       = regexp.MustCompile(`^(?i:unable to evaluate) .*: item (.+) not found$`)
	loadRe       = regexp.MustCompile(`cannot load ".*`)
	parameterRe  = regexp.MustCompile(`^parameter "([^"]+)" was not provided$`)
	parseWrapper = regexp.MustCompile(`^Unable to parse controlStructure "([^"]+)"`)
	unknownTagRe = regexp.MustCompile(`^ControlStructure '([^']+)' not found \(or beginning not provided\)$`)
)

// knownTags are the tag names a template may use, for did-you-mean hints.
var knownTags = []string{"autoescape", "block", "break", "call", "continue", "do", "elif", "else",
	"endautoescape", "endblock", "endcall", "endfilter", "endfor", "endif", "endmacro", "endraw",
	"endset", "endtest", "endwith", "extends", "filter", "for", "from", "if", "import", "include",
	"macro", "raw", "set", "test", "with"}

// explain finds the line and a clean message in a gonja error. Gonja wraps
// errors in layers ("Unable to render expression at line 3: <node dump>: …")
// and flattens errors that cross a function call to text; the innermost
// "at line N" is the truest line, and the innermost error the message.
// known lists the names a template may use, for did-you-mean hints.
func explain(err error, known []string) (int, string) {
	var se *parser.SyntaxError
	if errors.As(err, &se) {
		msg := strings.TrimSuffix(se.Message, ".")
		if m := unknownTagRe.FindStringSubmatch(se.Message); m != nil {
			msg = fmt.Sprintf("unknown tag {%% %s %%}", m[1])
			if tag := parseTag(err); tag != "" {
				msg += fmt.Sprintf(" inside {%% %s %%}", tag)
			}
			if s := manifest.DidYouMean(m[1], knownTags); s != "" {
				msg += fmt.Sprintf(" — did you mean {%% %s %%}?", s)
			}
			return se.Line, "template syntax error: " + msg
		}
		if strings.Contains(se.Message, "unclosed comment") || se.Raw == "unclosed comment" {
			return se.Line, "template syntax error: unclosed comment — close {# with #}"
		}
		switch {
		case strings.HasPrefix(se.Raw, "Unexpected delimiter "):
			// A lexer error: Raw holds the lexer's message, not source text.
			msg = "unexpected " + strings.TrimPrefix(se.Raw, "Unexpected delimiter ") + " — close {{ with }} and {% with %}"
		case se.Raw != "":
			msg += fmt.Sprintf(" (near %q)", se.Raw)
		}
		if tag := parseTag(err); tag != "" {
			msg = fmt.Sprintf("in {%% %s %%}: %s", tag, msg)
		}
		return se.Line, "template syntax error: " + msg
	}
	line := 0
	for err != nil {
		next := unwrap(err)
		if next == nil {
			break
		}
		own := strings.TrimSuffix(err.Error(), next.Error())
		// Only the layer's own prefix counts: the node dump after it may
		// quote user text that itself says "at line".
		if m := atLineRe.FindStringSubmatch(own); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		err = next
	}
	return line, cleanMessage(err.Error(), known)
}

// parseTag returns the tag named by gonja's "Unable to parse controlStructure" wrapper.
func parseTag(err error) string {
	for ; err != nil; err = errors.Unwrap(err) {
		if m := parseWrapper.FindStringSubmatch(err.Error()); m != nil {
			return m[1]
		}
	}
	return ""
}

// unwrap steps one layer into a gonja error chain, through *exec.Value.
func unwrap(err error) error {
	if v, ok := err.(*exec.Value); ok {
		if inner, ok := v.Interface().(error); ok && inner != err {
			return inner
		}
		return nil
	}
	return errors.Unwrap(err)
}

// cleanMessage rewrites gonja's root messages into elt's wording.
func cleanMessage(msg string, known []string) string {
	for {
		loc := invalidRe.FindStringIndex(msg)
		if loc == nil {
			break
		}
		msg = msg[loc[1]:]
	}
	if m := undefinedRe.FindStringSubmatch(msg); m != nil {
		return undefinedMessage(m[1], known)
	}
	if m := notCallRe.FindStringSubmatch(msg); m != nil && !contains(known, m[1]) {
		if s := manifest.DidYouMean(m[1], known); s != "" {
			return fmt.Sprintf("%s is not a macro or function — did you mean %s?", m[1], s)
		}
		return fmt.Sprintf("%s is not a macro or function — define it with {%% macro %s() %%} in a file under macros/", m[1], m[1])
	}
	if m := attrRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s has no attribute %q", strings.TrimSuffix(m[1], "."+m[2]), m[2])
	}
	if m := itemRe.FindStringSubmatch(msg); m != nil {
		item := m[1]
		if strings.HasPrefix(item, "''") && strings.HasSuffix(item, "''") && len(item) >= 4 {
			item = item[1 : len(item)-1]
		}
		return fmt.Sprintf("item %s not found — check the key or index", item)
	}
	if m := loadRe.FindString(msg); m != "" {
		return m
	}
	if m := parameterRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("macro argument %q was not provided", m[1])
	}
	return msg
}

func undefinedMessage(name string, known []string) string {
	if s := manifest.DidYouMean(name, known); s != "" {
		return fmt.Sprintf("%q is undefined — did you mean %s?", name, s)
	}
	return fmt.Sprintf("%q is undefined — define it with {%% set %%}, or use var('%s') for a project variable", name, name)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package compiler

import (
	"fmt"
	"io"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// templateConfig is the gonja configuration of every template elt parses:
// Jinja's defaults with strict undefined, so a typo is an error rather than
// an empty string. It is never mutated after init.
var templateConfig = func() *config.Config {
	c := config.New()
	c.StrictUndefined = true
	c.KeepTrailingNewline = true
	return c
}()

// controlStructures are gonja's built-in tags with "macro" replaced by elt's
// (whose macros may return() values) and "test" added for generic tests
// ({% test name(model, column_name) %}, registered as macro test_<name>).
var controlStructures = func() *exec.ControlStructureSet {
	set := exec.NewControlStructureSet(map[string]parser.ControlStructureParser{})
	set.Update(builtins.ControlStructures)
	if err := set.Replace("macro", macroLikeParser("endmacro", "")); err != nil {
		panic(err) // gonja always registers "macro": a failure is a programming error
	}
	if err := set.Register("test", macroLikeParser("endtest", "test_")); err != nil {
		panic(err)
	}
	return set
}()

// parseEnv is the environment templates are parsed with; renders build
// their own Environment around a fresh Context.
var parseEnv = &exec.Environment{
	Context:           exec.EmptyContext(),
	Filters:           builtins.Filters,
	Tests:             builtins.Tests,
	ControlStructures: controlStructures,
	Methods:           builtins.Methods,
}

// sourceLoader serves one template's text to gonja; includes and imports
// are not supported (macros are global instead).
type sourceLoader struct{ name, src string }

func (l *sourceLoader) Read(path string) (io.Reader, error) {
	if path != l.name {
		return nil, fmt.Errorf("cannot load %q: {%% include %%}, {%% import %%} and {%% extends %%} are not supported — macros in macros/ are callable by name everywhere", path)
	}
	return strings.NewReader(l.src), nil
}

func (l *sourceLoader) Resolve(path string) (string, error) { return path, nil }

func (l *sourceLoader) Inherit(string) (loaders.Loader, error) { return l, nil }

// template is a parsed template: its syntax tree, with the macros it
// defines.
type template struct{ root *nodes.Template }

// Macros are the macros the template defines, by name.
func (t *template) Macros() map[string]*nodes.Macro { return t.root.Macros }

// parseTemplate parses src, the text of file; a syntax error is returned as
// a *templateError with the file and the line of the error. Templates
// fastLex can tokenize skip gonja's lexer; every other template, and every
// one that does not parse, goes through gonja whole, so its errors are
// gonja's.
func parseTemplate(file, src string) (*template, error) {
	if toks, ok := fastLex(src); ok {
		loader := &sourceLoader{name: file, src: src}
		p := parser.NewParser(file, tokens.NewStream(toks), templateConfig, loader, controlStructures)
		if root, err := p.Parse(); err == nil {
			return &template{root: root}, nil
		}
	}
	t, err := exec.NewTemplate(file, templateConfig, &sourceLoader{name: file, src: src}, parseEnv)
	if err != nil {
		te := translate(err, file, 0)
		if te.Line == 0 {
			te.Line = lexErrorLine(src)
		}
		return nil, te
	}
	return &template{root: t.Root()}, nil
}

// shellTemplate is the gonja template every render is given (gonja needs
// one); the renderer's root node is then set to the template rendered.
var shellTemplate = func() *exec.Template {
	t, err := exec.NewTemplate("", templateConfig, &sourceLoader{}, parseEnv)
	if err != nil {
		panic(err) // the empty template always parses
	}
	return t
}()

// lexErrorLine returns the line of the first lexer error in src, or 0.
// Gonja's parser reports lexer errors (an unexpected delimiter, say)
// without a line; the error token still knows its byte offset.
func lexErrorLine(src string) int {
	s := tokens.LexAll(src, templateConfig)
	for !s.End() {
		s.Next()
	}
	if !s.IsError() {
		return 0
	}
	if tok := s.Current(); tok.Line > 0 {
		return tok.Line
	}
	return 1 + strings.Count(src[:min(s.Current().Pos, len(src))], "\n")
}

// macroControl is a {% macro %} or {% test %} block. Rendering it binds the
// macro in the current context, so a model may define its own macros;
// macros/ files are parsed only and bound globally.
type macroControl struct {
	macro *nodes.Macro
	file  string // the file defining it, for error traces
}

func (m *macroControl) Position() *tokens.Token { return m.macro.Location }

func (m *macroControl) String() string { return "macro " + m.macro.Name }

func (m *macroControl) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	def := &macroDef{node: m.macro, file: m.file}
	r.Environment.Context.Set(m.macro.Name, def.call)
	return nil
}

// macroLikeParser parses `name(a, b=1, *args, **kwargs) … {% endTag %}` and
// registers the macro in the template under prefix+name.
func macroLikeParser(endTag, prefix string) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		macro := &nodes.Macro{Location: p.Current(), Kwargs: []*nodes.Pair{}}
		name := args.Match(tokens.Name)
		if name == nil {
			return nil, args.Error("a macro needs a name", args.Current())
		}
		macro.Name = prefix + name.Val
		if args.Match(tokens.LeftParenthesis) == nil {
			return nil, args.Error("expected '(' after the macro name", args.Current())
		}
		for args.Match(tokens.RightParenthesis) == nil {
			switch {
			case args.Match(tokens.Power) != nil:
				n := args.Match(tokens.Name)
				if n == nil || macro.KwArgsName != "" {
					return nil, args.Error("expected one identifier after '**'", args.Current())
				}
				macro.KwArgsName = n.Val
			case args.Match(tokens.Multiply) != nil:
				n := args.Match(tokens.Name)
				if n == nil || macro.VarArgsName != "" {
					return nil, args.Error("expected one identifier after '*'", args.Current())
				}
				macro.VarArgsName = n.Val
			default:
				n := args.Match(tokens.Name)
				if n == nil {
					return nil, args.Error("expected an argument name", args.Current())
				}
				pair := &nodes.Pair{Key: &nodes.String{Location: n, Val: n.Val}}
				if args.Match(tokens.Assign) != nil {
					expr, err := args.ParseExpression()
					if err != nil {
						return nil, err
					}
					pair.Value = expr
				}
				macro.Kwargs = append(macro.Kwargs, pair)
			}
			if args.Match(tokens.RightParenthesis) != nil {
				break
			}
			if args.Match(tokens.Comma) == nil {
				return nil, args.Error("expected ',' or ')' in the macro's arguments", args.Current())
			}
		}
		if !args.End() {
			return nil, args.Error("unexpected text after the macro's arguments", args.Current())
		}
		wrapper, endArgs, err := p.WrapUntil(endTag)
		if err != nil {
			return nil, err
		}
		if !endArgs.End() {
			return nil, endArgs.Error("arguments are not allowed in {% "+endTag+" %}", endArgs.Current())
		}
		macro.Wrapper = wrapper
		p.Template.Macros[macro.Name] = macro
		return &macroControl{macro: macro, file: p.Template.Identifier}, nil
	}
}

package compiler

import (
	"strings"
	"sync"

	"github.com/nikolalohinski/gonja/v2/tokens"
)

// fastLex tokenizes src exactly as gonja's lexer (tokens.LexAll) does (less
// the white space tokens, which gonja's token stream skips), for
// the Jinja that SQL models are made of, without the two regular
// expressions gonja compiles for every template (two thirds of the cost of
// parsing a model). It reports false, and the caller lexes with gonja,
// for anything outside that subset: a carriage return or non-ASCII byte
// inside a tag, {% raw %} and {% comment %}, numbers other than plain
// integers and decimals, a backslash in a string, and every input gonja
// would report an error for (so its messages stay the only ones users
// see). FuzzFastLex holds lexAll, which does the work, to gonja's output on
// arbitrary input.
//
// Its invariant is gonja's: a token spans src[start:pos], start moves only
// when a token is emitted, and a byte no rule matches inside a tag (a
// newline, say) becomes part of the next token.
func fastLex(src string) ([]*tokens.Token, bool) {
	scratch := lexScratch.Get().(*[]tokens.Token)
	defer lexScratch.Put(scratch)
	toks, ok := lexAll(src, (*scratch)[:0])
	*scratch = toks[:0]
	if !ok {
		return nil, false
	}
	// The parsed template points into the tokens, which therefore live as
	// long as it does: they get a slab of their exact size, without the
	// white space gonja's token stream skips anyway.
	n := 0
	for i := range toks {
		if toks[i].Type != tokens.Whitespace {
			n++
		}
	}
	slab := make([]tokens.Token, 0, n)
	for i := range toks {
		if toks[i].Type != tokens.Whitespace {
			slab = append(slab, toks[i])
		}
	}
	out := make([]*tokens.Token, n)
	for i := range slab {
		out[i] = &slab[i]
	}
	return out, true
}

// lexAll appends the tokens of src, white space included, to buf.
func lexAll(src string, buf []tokens.Token) ([]tokens.Token, bool) {
	if !fastLexConfig || strings.IndexByte(src, '\r') >= 0 {
		return buf, false
	}
	l := fastLexer{src: src, toks: buf}
	ok := l.run()
	return l.toks, ok
}

// lexScratch holds token buffers for fastLex to reuse.
var lexScratch = sync.Pool{New: func() any { return new([]tokens.Token) }}

// fastLexConfig is whether templateConfig is the configuration fastLex
// implements: Jinja's delimiters, no block trimming, no line statements.
var fastLexConfig = func() bool {
	c := templateConfig
	return c.BlockStartString == "{%" && c.BlockEndString == "%}" &&
		c.VariableStartString == "{{" && c.VariableEndString == "}}" &&
		c.CommentStartString == "{#" && c.CommentEndString == "#}" &&
		!c.TrimBlocks && !c.LeftStripBlocks && c.NewlineSequence == "\n" &&
		c.LineStatementPrefix == "" && c.LineCommentPrefix == ""
}()

type fastLexer struct {
	src        string
	start, pos int
	line       int // 0-based line of start, advanced lazily
	lineStart  int // offset of that line's first byte
	scanned    int // src[:scanned] has been searched for line breaks
	delims     []byte
	toks       []tokens.Token
}

// emit appends the token src[start:pos] (val replaces the text when not
// nil) and moves start to pos.
func (l *fastLexer) emit(t tokens.Type) { l.emitVal(t, l.src[l.start:l.pos]) }

func (l *fastLexer) emitVal(t tokens.Type, val string) {
	for ; l.scanned < l.start; l.scanned++ {
		if l.src[l.scanned] == '\n' {
			l.line++
			l.lineStart = l.scanned + 1
		}
	}
	l.toks = append(l.toks, tokens.Token{Type: t, Val: val, Pos: l.start, Line: l.line + 1, Col: l.start - l.lineStart + 1})
	l.start = l.pos
}

// emitData emits src[start:pos] as data unless it is empty.
func (l *fastLexer) emitData() {
	if l.pos > l.start {
		l.emit(tokens.Data)
	}
}

func (l *fastLexer) has(prefix string) bool { return strings.HasPrefix(l.src[l.pos:], prefix) }

// peek is the byte at pos, 0 at the end.
func (l *fastLexer) peek() byte {
	if l.pos < len(l.src) {
		return l.src[l.pos]
	}
	return 0
}

// run lexes the whole input: data up to each tag, then the tag.
func (l *fastLexer) run() bool {
	for {
		i := strings.IndexByte(l.src[l.pos:], '{')
		if i < 0 {
			l.pos = len(l.src)
			l.emitData()
			l.emit(tokens.EOF)
			return true
		}
		l.pos += i
		var ok bool
		switch {
		case l.has("{#"):
			l.emitData()
			ok = l.comment()
		case l.has("{{"):
			l.emitData()
			l.pos += 2
			if l.peek() == '-' {
				l.pos++
			}
			l.emit(tokens.VariableBegin)
			ok = l.expression(tokens.VariableEnd)
		case l.has("{%"):
			l.emitData()
			ok = l.block()
		default:
			l.pos++
			continue
		}
		if !ok {
			return false
		}
	}
}

// comment lexes {# … #}: its text is a data token between the two.
func (l *fastLexer) comment() bool {
	l.pos += 2
	if c := l.peek(); c == '-' || c == '+' {
		l.pos++
	}
	l.emit(tokens.CommentBegin)
	i := strings.Index(l.src[l.pos:], "#}")
	if i < 0 {
		return false
	}
	end := l.pos + i
	if end > l.start && (l.src[end-1] == '-' || l.src[end-1] == '+') {
		end--
	}
	l.pos = end
	l.emitData()
	if c := l.peek(); c == '-' || c == '+' {
		l.pos++
	}
	l.pos += 2
	l.emit(tokens.CommentEnd)
	return true
}

// block lexes {% name … %}; raw and comment blocks are left to gonja.
func (l *fastLexer) block() bool {
	l.pos += 2
	if c := l.peek(); c == '-' || c == '+' {
		l.pos++
	}
	l.emit(tokens.BlockBegin)
	for c := l.peek(); c == ' ' || c == '\t'; c = l.peek() {
		l.pos++
	}
	if l.pos > l.start {
		l.emit(tokens.Whitespace)
	}
	if !l.identifier() {
		return false
	}
	if name := l.src[l.start:l.pos]; name == "raw" || name == "comment" {
		return false
	}
	l.emit(tokens.Name)
	return l.expression(tokens.BlockEnd)
}

// identifier advances pos over letters, digits and underscores; it
// reports false at a non-ASCII byte, which gonja judges by Unicode.
func (l *fastLexer) identifier() bool {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c >= 0x80:
			return false
		case isWordByte(c):
			l.pos++
		default:
			return true
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// blockEnd lexes [-+]%} and variableEnd -?}}.
func (l *fastLexer) blockEnd() {
	if c := l.peek(); c == '-' || c == '+' {
		l.pos++
	}
	l.pos += 2
	l.emit(tokens.BlockEnd)
}

func (l *fastLexer) variableEnd() {
	if l.peek() == '-' {
		l.pos++
	}
	l.pos += 2
	l.emit(tokens.VariableEnd)
}

// expression lexes the inside of a tag up to its end, which end names.
func (l *fastLexer) expression(end tokens.Type) bool {
	for {
		expecting := len(l.delims) > 0 && l.peek() == l.delims[len(l.delims)-1]
		if !expecting {
			if end == tokens.VariableEnd && l.has("}}") {
				l.variableEnd()
				return true
			}
			if end == tokens.BlockEnd && l.has("%}") {
				l.blockEnd()
				return true
			}
		}
		if l.pos >= len(l.src) {
			return false // gonja reports the unclosed tag
		}
		c := l.src[l.pos]
		l.pos++
		switch {
		case c >= 0x80:
			return false
		case c == ' ' || c == '\t':
			for p := l.peek(); p == ' ' || p == '\t'; p = l.peek() {
				l.pos++
			}
			l.emit(tokens.Whitespace)
		case '0' <= c && c <= '9':
			if !l.number() {
				return false
			}
		case c == '"' || c == '\'':
			if !l.str(c) {
				return false
			}
		case c == '+':
			if l.has("%}") {
				l.pos--
				l.blockEnd()
				return end == tokens.BlockEnd
			}
			l.emit(tokens.Addition)
		case c == '-':
			switch {
			case l.has("%}"):
				l.pos--
				l.blockEnd()
				return end == tokens.BlockEnd
			case l.has("}}"):
				l.pos--
				l.variableEnd()
				return end == tokens.VariableEnd
			}
			l.emit(tokens.Subtraction)
		case c == '(':
			l.open(tokens.LeftParenthesis, ')')
		case c == '{':
			l.open(tokens.LeftBrace, '}')
		case c == '[':
			l.open(tokens.LeftBracket, ']')
		case c == ')':
			if !l.close(tokens.RightParenthesis, c) {
				return false
			}
		case c == '}':
			if !l.close(tokens.RightBrace, c) {
				return false
			}
		case c == ']':
			if !l.close(tokens.RightBracket, c) {
				return false
			}
		case c == '!':
			if l.peek() != '=' {
				return false
			}
			l.pos++
			l.emit(tokens.Ne)
		case isWordByte(c):
			word := l.pos - 1 // start may hold bytes no rule took
			if !l.identifier() {
				return false
			}
			l.emit(keyword(l.src[word:l.pos], l.peek()))
		default:
			if t := operators[c]; t.single != 0 {
				if t.double != 0 && l.peek() == t.second {
					l.pos++
					l.emit(t.double)
				} else {
					l.emit(t.single)
				}
			}
			// Any other byte (a newline, say) joins the next token, as
			// in gonja.
		}
	}
}

// open emits an opening bracket and expects its closing one.
func (l *fastLexer) open(t tokens.Type, closing byte) {
	l.emit(t)
	l.delims = append(l.delims, closing)
}

// close emits the closing bracket c; a bracket that closes nothing open
// is an error, left to gonja.
func (l *fastLexer) close(t tokens.Type, c byte) bool {
	if len(l.delims) == 0 || l.delims[len(l.delims)-1] != c {
		return false
	}
	l.delims = l.delims[:len(l.delims)-1]
	l.emit(t)
	return true
}

// operators are the one- and two-byte operators by first byte: single
// alone, double when followed by second.
var operators = [128]struct {
	single, double tokens.Type
	second         byte
}{
	',': {single: tokens.Comma}, '|': {single: tokens.Pipe}, '~': {single: tokens.Tilde},
	':': {single: tokens.Colon}, '.': {single: tokens.Dot}, '%': {single: tokens.Modulo},
	'/': {tokens.Division, tokens.FloorDivision, '/'},
	'<': {tokens.LowerThan, tokens.LowerThanOrEqual, '='},
	'>': {tokens.GreaterThan, tokens.GreaterThanOrEqual, '='},
	'*': {tokens.Multiply, tokens.Power, '*'},
	'=': {tokens.Assign, tokens.Equals, '='},
}

// keyword is the token type of the word w followed by the byte next:
// gonja takes in, is, or and and as operators only before a space or tab,
// and not also before a parenthesis.
func keyword(w string, next byte) tokens.Type {
	space := next == ' ' || next == '\t'
	switch {
	case w == "in" && space:
		return tokens.In
	case w == "is" && space:
		return tokens.Is
	case w == "or" && space:
		return tokens.Or
	case w == "and" && space:
		return tokens.And
	case w == "not" && (space || next == '('):
		return tokens.Not
	}
	return tokens.Name
}

// number lexes a decimal integer or a decimal with digits after its point
// (the first digit is consumed); anything else is left to gonja.
func (l *fastLexer) number() bool {
	digits := func() {
		for p := l.peek(); '0' <= p && p <= '9'; p = l.peek() {
			l.pos++
		}
	}
	digits()
	t := tokens.Integer
	if l.peek() == '.' && l.pos+1 < len(l.src) && '0' <= l.src[l.pos+1] && l.src[l.pos+1] <= '9' {
		l.pos++
		digits()
		t = tokens.Float
	}
	if p := l.peek(); p == '.' || p >= 0x80 || isWordByte(p) {
		return false
	}
	l.emit(t)
	return true
}

// str lexes a string quoted by q (the opening quote is consumed); a token
// with a backslash is left to gonja.
func (l *fastLexer) str(q byte) bool {
	i := strings.IndexByte(l.src[l.pos:], q)
	if i < 0 {
		return false
	}
	// gonja unescapes \' and \" in the whole token, which starts with any
	// bytes no rule took: a backslash anywhere in it is left to gonja.
	if strings.IndexByte(l.src[l.start:l.pos+i], '\\') >= 0 {
		return false
	}
	l.pos += i + 1
	// gonja drops the token's first and last byte: the quotes, or a byte
	// no rule took and the closing quote.
	l.emitVal(tokens.String, l.src[l.start+1:l.pos-1])
	return true
}

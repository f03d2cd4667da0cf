package compiler

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"

	"github.com/elt-dev/elt/diag"
)

// macroDef is a parsed macro and the file defining it. Its call method is
// what templates see under the macro's name: it renders the macro body in
// a child of the current render's root context (so a macro sees ref, this,
// var and every other macro, but not its caller's local variables).
type macroDef struct {
	node *nodes.Macro
	file string
	// volatile is the first of project.VolatileNames the macro's source
	// mentions, "" for none.
	volatile string
	// project is set for a macro of the project's macros/ (not a built-in
	// test, nor a macro a template defines for itself): a unit records
	// the files of those it calls.
	project bool
}

// frame is one macro call on the way to an error: the macro and the
// position in its file where the error happened.
type frame struct {
	macro string
	pos   diag.Pos
}

// describeTrace renders frames, innermost first, as
// " (in macro b at macros/b.sql:4, called from macro a at macros/a.sql:2)".
func describeTrace(trace []frame) string {
	if len(trace) == 0 {
		return ""
	}
	parts := make([]string, len(trace))
	for i, f := range trace {
		verb := "in"
		if i > 0 {
			verb = "called from"
		}
		parts[i] = fmt.Sprintf("%s macro %s at %s", verb, f.macro, f.pos)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// returnSlot receives the value of return() inside one macro call.
type returnSlot struct {
	set   bool
	value *exec.Value
}

// errReturn stops rendering a macro body once return() has been called.
var errReturn = errors.New("return() can only be used inside a macro")

const (
	stateKey  = "__elt_state"
	returnKey = "__elt_return"
	callerKey = "__gonja_caller__"
)

// call runs the macro with the given arguments and returns its output, or
// the value given to return(). On failure it records where in the macro
// the error happened in the render's trace and returns the bare message.
func (d *macroDef) call(e *exec.Evaluator, va *exec.VarArgs) *exec.Value {
	st := stateOf(e)
	if st == nil || st.root == nil {
		return exec.AsValue(fmt.Errorf("macro %s called outside a render", d.node.Name))
	}
	if d.volatile != "" && st.c.opts.Volatile != nil {
		st.c.opts.Volatile("macro " + d.node.Name + " mentions " + d.volatile)
	}
	if u := st.u; u != nil && d.project {
		if u.macroFiles == nil {
			u.macroFiles = map[string]bool{}
		}
		u.macroFiles[d.file] = true
	}
	root := st.root
	sub := root.Inherit()
	var out strings.Builder
	sub.Output = &out
	ctx := sub.Environment.Context
	if err := d.bind(root, ctx, va); err != nil {
		return exec.AsValue(err)
	}
	if caller, ok := e.Environment.Context.Get(callerKey); ok && caller != nil {
		ctx.Set("caller", caller)
		e.Environment.Context.Set(callerKey, nil)
	}
	slot := &returnSlot{}
	ctx.Set(returnKey, slot)
	err := sub.ExecuteWrapper(d.node.Wrapper)
	if slot.set {
		return slot.value
	}
	if err != nil {
		line, msg := explain(err, st.c.knownNames())
		st.trace = append(st.trace, frame{macro: d.node.Name, pos: diag.Pos{File: d.file, Line: line}})
		return exec.AsValue(errors.New(msg))
	}
	return exec.AsSafeValue(out.String())
}

// bind sets the macro's parameters in ctx from the call's arguments, with
// Python's rules: positionals first, then keywords, then defaults; extra
// arguments go to *args/**kwargs when declared and are an error otherwise.
func (d *macroDef) bind(root *exec.Renderer, ctx *exec.Context, va *exec.VarArgs) error {
	n := d.node
	params := make([]string, len(n.Kwargs))
	for i, p := range n.Kwargs {
		params[i] = p.Key.(*nodes.String).Val
	}
	bound := make([]*exec.Value, len(params))
	var extra []any
	for i, a := range va.Args {
		if i < len(params) {
			bound[i] = a
			continue
		}
		if n.VarArgsName == "" {
			return fmt.Errorf("macro %s takes %d arguments but was given %d", n.Name, len(params), len(va.Args))
		}
		extra = append(extra, a.Interface())
	}
	extraKw := map[string]any{}
	for k, v := range va.KwArgs {
		i := indexOf(params, k)
		switch {
		case i >= 0 && bound[i] != nil:
			return fmt.Errorf("macro %s got argument %s twice", n.Name, k)
		case i >= 0:
			bound[i] = v
		case n.KwArgsName != "":
			extraKw[k] = v.Interface()
		default:
			return fmt.Errorf("macro %s has no argument %s (arguments: %s)", n.Name, k, strings.Join(params, ", "))
		}
	}
	for i, p := range n.Kwargs {
		if bound[i] != nil {
			ctx.Set(params[i], bound[i])
			continue
		}
		if p.Value == nil {
			return fmt.Errorf("macro %s needs argument %s", n.Name, params[i])
		}
		v := root.Eval(p.Value)
		if v.IsError() {
			return fmt.Errorf("default of argument %s of macro %s: %s", params[i], n.Name, v.Error())
		}
		ctx.Set(params[i], v)
	}
	if n.VarArgsName != "" {
		if extra == nil {
			extra = []any{}
		}
		ctx.Set(n.VarArgsName, extra)
	}
	if n.KwArgsName != "" {
		ctx.Set(n.KwArgsName, extraKw)
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// returnFunc is return(value): it hands value to the innermost macro call
// and stops rendering the macro's body.
func returnFunc(e *exec.Evaluator, va *exec.VarArgs) *exec.Value {
	v, _ := e.Environment.Context.Get(returnKey)
	slot, ok := v.(*returnSlot)
	if !ok || slot == nil {
		return exec.AsValue(errReturn)
	}
	slot.set = true
	slot.value = exec.AsValue(nil)
	if len(va.Args) > 0 {
		slot.value = va.Args[0]
	}
	return exec.AsValue(errReturn)
}

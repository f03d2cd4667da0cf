package partialparse

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
)

// gob leaves out a struct field holding its zero value, also behind a
// pointer: a *bool pointing at false (full_refresh: false) or a pointer to
// an all-zero struct (contract: {enforced: false}) decode as nil, which
// means something else. zeroPointers finds such pointers before encoding,
// by their path of field indexes through structs and pointers, so that
// restorePointers can set them again after decoding.

// zeroPointers returns the paths of the non-nil pointers to zero values
// under v (a struct or a pointer to one), through struct fields and
// pointers (the manifest holds no pointers inside slices or maps). It
// visits only the pointer fields of each struct type (pointerSites), not
// every field: a manifest node has dozens of fields and a handful of
// pointers, and 100,000 nodes are walked on every full compile.
func zeroPointers(v reflect.Value) [][]int {
	var out [][]int
	var walk func(v reflect.Value, path []int)
	walk = func(v reflect.Value, path []int) {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return
		}
		for _, site := range pointerSites(v.Type()) {
			f := v
			for _, i := range site {
				f = f.Field(i)
			}
			if f.IsNil() {
				continue
			}
			p := append(append(make([]int, 0, len(path)+len(site)), path...), site...)
			if f.Elem().IsZero() {
				out = append(out, p)
				continue
			}
			walk(f, p)
		}
	}
	walk(v, nil)
	return out
}

// siteCache holds pointerSites' answers by struct type.
var siteCache sync.Map // reflect.Type → [][]int

// pointerSites returns the field index paths, through exported fields of
// nested struct values, of every exported pointer field of the struct
// type t, in field order.
func pointerSites(t reflect.Type) [][]int {
	if s, ok := siteCache.Load(t); ok {
		return s.([][]int)
	}
	var sites [][]int
	var collect func(t reflect.Type, path []int)
	collect = func(t reflect.Type, path []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			p := append(append([]int(nil), path...), i)
			switch f.Type.Kind() {
			case reflect.Struct:
				collect(f.Type, p)
			case reflect.Pointer:
				sites = append(sites, p)
			}
		}
	}
	collect(t, nil)
	siteCache.Store(t, sites)
	return sites
}

// restorePointers allocates a zero value for every pointer on paths that
// decoding left nil.
func restorePointers(v reflect.Value, paths [][]int) {
	for _, path := range paths {
		cur := v
		for _, i := range path {
			for cur.Kind() == reflect.Pointer {
				if cur.IsNil() {
					cur.Set(reflect.New(cur.Type().Elem()))
				}
				cur = cur.Elem()
			}
			if cur.Kind() != reflect.Struct || i >= cur.NumField() {
				break
			}
			cur = cur.Field(i)
		}
		if cur.Kind() == reflect.Pointer && cur.IsNil() && cur.CanSet() {
			cur.Set(reflect.New(cur.Type().Elem()))
		}
	}
}

// typedDigest renders v canonically with the Go type of every scalar, so
// that values JSON would render alike (1 and 1.0, a string and bytes)
// differ: map keys are sorted, structs and pointers followed.
func typedDigest(v any) string {
	var b strings.Builder
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		if !v.IsValid() {
			b.WriteString("nil")
			return
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				b.WriteString("nil")
				return
			}
			if s, ok := v.Interface().(fmt.Stringer); ok && v.Kind() == reflect.Pointer {
				fmt.Fprintf(&b, "%T(%q)", v.Interface(), s.String())
				return
			}
			walk(v.Elem())
		case reflect.Map:
			keys := v.MapKeys()
			sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
			fmt.Fprintf(&b, "%s{", v.Type())
			for _, k := range keys {
				walk(k)
				b.WriteByte(':')
				walk(v.MapIndex(k))
				b.WriteByte(',')
			}
			b.WriteByte('}')
		case reflect.Slice, reflect.Array:
			if v.Kind() == reflect.Slice && v.IsNil() {
				fmt.Fprintf(&b, "%s(nil)", v.Type())
				return
			}
			fmt.Fprintf(&b, "%s[", v.Type())
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
				b.WriteByte(',')
			}
			b.WriteByte(']')
		case reflect.Struct:
			if s, ok := v.Interface().(fmt.Stringer); ok {
				fmt.Fprintf(&b, "%s(%q)", v.Type(), s.String()) // time.Time and the like
				return
			}
			fmt.Fprintf(&b, "%s{", v.Type())
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					b.WriteString(v.Type().Field(i).Name)
					b.WriteByte(':')
					walk(v.Field(i))
					b.WriteByte(',')
				}
			}
			b.WriteByte('}')
		default:
			fmt.Fprintf(&b, "%s(%#v)", v.Type(), v.Interface())
		}
	}
	walk(reflect.ValueOf(v))
	return b.String()
}

// gob also decodes an empty list or mapping held in an interface value
// (meta={'labels': []}, a test's values: []) as nil, which encodes as null
// where a compile writes [] or {}. emptyCollections finds them before
// encoding, by their path from the node, and restoreEmpty sets them
// again after decoding.

// Step is one step of an EmptyPath: a struct field by index, a map entry
// by key, or a list element by index.
type Step struct {
	Field int
	Key   string
	Index int
	Kind  byte // 'f' field, 'k' map key, 'i' list index
}

// EmptyPath leads from a struct to an interface value that holds an empty
// []any (List) or map[string]any.
type EmptyPath struct {
	Steps []Step
	List  bool
}

// anyCache holds mayHoldAny's answers by type.
var anyCache sync.Map // reflect.Type → bool

// mayHoldAny reports whether a value of type t can hold an interface
// value, through struct fields, pointers, slices and maps.
func mayHoldAny(t reflect.Type) bool {
	if v, ok := anyCache.Load(t); ok {
		return v.(bool)
	}
	anyCache.Store(t, false) // a recursive type is answered by its other fields
	var holds bool
	switch t.Kind() {
	case reflect.Interface:
		holds = true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		holds = mayHoldAny(t.Elem())
	case reflect.Map:
		holds = mayHoldAny(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField() && !holds; i++ {
			holds = t.Field(i).IsExported() && mayHoldAny(t.Field(i).Type)
		}
	}
	anyCache.Store(t, holds)
	return holds
}

// emptyCollections returns the paths, from the struct v points to, of the
// interface values holding an empty []any or map[string]any.
func emptyCollections(v reflect.Value) []EmptyPath {
	var out []EmptyPath
	var walk func(v reflect.Value, path []Step)
	walk = func(v reflect.Value, path []Step) {
		if !v.IsValid() || !mayHoldAny(v.Type()) {
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), path)
			}
		case reflect.Interface:
			if v.IsNil() {
				return
			}
			switch e := v.Interface().(type) {
			case []any:
				if e != nil && len(e) == 0 {
					out = append(out, EmptyPath{Steps: slices.Clone(path), List: true})
					return
				}
			case map[string]any:
				if e != nil && len(e) == 0 {
					out = append(out, EmptyPath{Steps: slices.Clone(path)})
					return
				}
			}
			walk(v.Elem(), path)
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i), append(path, Step{Kind: 'f', Field: i}))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), append(path, Step{Kind: 'i', Index: i}))
			}
		case reflect.Map:
			if v.Type().Key().Kind() != reflect.String {
				return
			}
			iter := v.MapRange()
			for iter.Next() {
				walk(iter.Value(), append(path, Step{Kind: 'k', Key: iter.Key().String()}))
			}
		}
	}
	walk(v, nil)
	return out
}

// restoreEmpty sets every path of paths, under the struct v (addressable),
// to an empty []any or map[string]any again. A path that no longer fits is
// skipped.
func restoreEmpty(v reflect.Value, paths []EmptyPath) {
	for _, p := range paths {
		empty := reflect.ValueOf(map[string]any{})
		if p.List {
			empty = reflect.ValueOf([]any{})
		}
		setAt(v, p.Steps, empty)
	}
}

// setAt sets the value at steps under v to x.
func setAt(v reflect.Value, steps []Step, x reflect.Value) {
	for len(steps) > 0 {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return
			}
			v = v.Elem()
		}
		s := steps[0]
		last := len(steps) == 1
		switch {
		case s.Kind == 'f' && v.Kind() == reflect.Struct && s.Field < v.NumField():
			v = v.Field(s.Field)
		case s.Kind == 'i' && (v.Kind() == reflect.Slice || v.Kind() == reflect.Array) && s.Index < v.Len():
			v = v.Index(s.Index)
		case s.Kind == 'k' && v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
			key := reflect.ValueOf(s.Key).Convert(v.Type().Key())
			if last {
				if x.Type().AssignableTo(v.Type().Elem()) {
					v.SetMapIndex(key, x)
				}
				return
			}
			v = v.MapIndex(key)
			if !v.IsValid() {
				return
			}
		default:
			return
		}
		steps = steps[1:]
	}
	if v.CanSet() && x.Type().AssignableTo(v.Type()) {
		v.Set(x)
	}
}

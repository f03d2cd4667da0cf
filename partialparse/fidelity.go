package partialparse

import (
	"fmt"
	"reflect"
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

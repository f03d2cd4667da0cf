package manifest

import (
	"encoding/json"
	"reflect"
	"sync"
	"unicode/utf8"
)

// holdsOpaque reports whether v (a manifest value encoding/json is about
// to write) holds, in a field typed any, a value of a type other than
// JSON's own (a relation a template put in meta, say), or a map key that
// is not valid UTF-8. encoding/json writes such a struct's members in
// field order and sorts such keys by their bytes, not as written, so the
// value needs the sorting pass (canonicalObject) to be canonical. Config
// is skipped: it sorts itself (Config.MarshalJSON).
func holdsOpaque(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Interface:
		return !v.IsNil() && !plainJSON(v.Elem().Interface())
	case reflect.Pointer:
		return !v.IsNil() && holdsOpaque(v.Elem())
	case reflect.Struct:
		for _, i := range opaqueFields(v.Type()) {
			if holdsOpaque(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if mayHoldOpaque(v.Type().Elem()) {
			for i := 0; i < v.Len(); i++ {
				if holdsOpaque(v.Index(i)) {
					return true
				}
			}
		}
	case reflect.Map:
		deep := mayHoldOpaque(v.Type().Elem())
		for it := v.MapRange(); it.Next(); {
			if k := it.Key(); k.Kind() == reflect.String && !utf8.ValidString(k.String()) {
				return true
			}
			if deep && holdsOpaque(it.Value()) {
				return true
			}
		}
	}
	return false
}

// plainJSON reports whether x is made of JSON's own values only: nil,
// strings, numbers, booleans, and lists and string-keyed maps of them.
func plainJSON(x any) bool {
	switch x := x.(type) {
	case nil, string, bool, json.Number, float64, float32, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, []string:
		return true
	case []any:
		for _, e := range x {
			if !plainJSON(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) || !plainJSON(e) {
				return false
			}
		}
		return true
	case map[string]string:
		for k := range x {
			if !utf8.ValidString(k) {
				return false
			}
		}
		return true
	}
	return false
}

var (
	configType    = reflect.TypeFor[Config]()
	opaqueByType  sync.Map // reflect.Type → []int: the fields that may hold opaque values
	mayHoldByType sync.Map // reflect.Type → bool: mayHoldOpaque
)

// opaqueFields returns the indexes of t's exported fields whose values may
// hold opaque ones.
func opaqueFields(t reflect.Type) []int {
	if f, ok := opaqueByType.Load(t); ok {
		return f.([]int)
	}
	var out []int
	if t != configType {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && f.Tag.Get("json") != "-" && mayHoldOpaque(f.Type) {
				out = append(out, i)
			}
		}
	}
	opaqueByType.Store(t, out)
	return out
}

// mayHoldOpaque reports whether a value of type t may hold an opaque value:
// it has a field typed any or a map with string keys somewhere inside.
func mayHoldOpaque(t reflect.Type) bool {
	if may, ok := mayHoldByType.Load(t); ok {
		return may.(bool)
	}
	may := mayHoldOpaqueSeen(t, map[reflect.Type]bool{})
	mayHoldByType.Store(t, may)
	return may
}

func mayHoldOpaqueSeen(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface, reflect.Map:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return mayHoldOpaqueSeen(t.Elem(), seen)
	case reflect.Struct:
		if t == configType {
			return false
		}
		for i := 0; i < t.NumField(); i++ {
			if mayHoldOpaqueSeen(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

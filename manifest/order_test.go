package manifest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// jsonFields returns the JSON member names a struct type encodes, in the
// order encoding/json writes them (embedded structs' fields in place).
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// TestEncodedKeysInOrder: every struct type a manifest holds declares its
// fields in the order of their JSON names (or marshals itself), so
// encoding/json writes canonical JSON without a sorting pass (see Encode).
func TestEncodedKeysInOrder(t *testing.T) {
	marshaler := reflect.TypeFor[json.Marshaler]()
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		if typ.Implements(marshaler) || reflect.PointerTo(typ).Implements(marshaler) {
			return
		}
		names := jsonFields(typ)
		for i := 1; i < len(names); i++ {
			if names[i-1] >= names[i] {
				t.Errorf("%s: JSON member %q is declared before %q: declare fields in the order of their JSON names", typ, names[i-1], names[i])
			}
		}
		for i := 0; i < typ.NumField(); i++ {
			walk(typ.Field(i).Type)
		}
	}
	walk(reflect.TypeFor[Manifest]())
	if len(seen) < 10 {
		t.Fatalf("walked only %d types", len(seen))
	}
}

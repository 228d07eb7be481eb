package storetest

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
)

// hidden returns the members of v that its JSON form leaves out (tag
// `json:"-"`), by path ("Spark.AuthSecret", "Steps[2].Seq"), searching
// nested structs, pointers and slices. A store must keep every one of
// them: that is the contract Store states for Node.TokenHash and the
// others, and finding them by their tag makes a member added later part of
// the suite without anyone remembering to list it.
func hidden(v any) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(path, v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				p := f.Name
				if path != "" {
					p = path + "." + f.Name
				}
				if f.Tag.Get("json") == "-" {
					out[p] = v.Field(i)
					continue
				}
				walk(p, v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
		}
	}
	walk("", reflect.ValueOf(v))
	return out
}

// checkHidden fails t for every member of want that its JSON leaves out
// and got does not carry. Empty and nil slices are the same.
func checkHidden(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := hidden(got), hidden(want)
	for _, p := range slices.Sorted(maps.Keys(w)) {
		wv := w[p]
		gv, ok := g[p]
		switch {
		case !ok:
			t.Errorf("%s: %s = nothing, want %v", what, p, wv.Interface())
		case (gv.Kind() == reflect.Slice && gv.Len() == 0) && (wv.Kind() == reflect.Slice && wv.Len() == 0):
		case !reflect.DeepEqual(gv.Interface(), wv.Interface()):
			t.Errorf("%s: %s = %v, want %v (a member its JSON leaves out was not kept)", what, p, show(gv), show(wv))
		}
	}
}

func show(v reflect.Value) any {
	if b, ok := v.Interface().([]byte); ok {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q", fmt.Sprint(v.Interface()))
}

// checkFilled fails t if a fixture leaves a member its JSON omits at its
// zero value (but for those named in except): a store that drops it would
// pass unnoticed.
func checkFilled(t *testing.T, what string, v any, except ...string) {
	t.Helper()
	h := hidden(v)
	for _, p := range slices.Sorted(maps.Keys(h)) {
		if h[p].IsZero() && !slices.Contains(except, p) {
			t.Fatalf("fixture %s leaves %s empty: give it a value, so that the suite checks that stores keep it", what, p)
		}
	}
}

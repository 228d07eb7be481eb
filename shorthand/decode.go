package shorthand

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Unmarshal parses s and stores the result in v, which must be a non-nil
// pointer (normally to a struct). Keys are matched case-sensitively against
// the fields' `json` tag names (the field name if there is no tag; "-"
// skips a field; untagged embedded structs are flattened). String values
// are converted to the field's type:
//
//   - string; int, int8..int64, uint..uint64 (base 10); float32, float64;
//     bool ("true"/"false", case-insensitive);
//   - types implementing encoding.TextUnmarshaler;
//   - []T from [...] or an implicit list a,b,c; any other value given where
//     a list is expected becomes a one-element list (as in the aws CLI);
//   - nested structs from {...}; map[string]T from {k=v,...};
//   - pointers are allocated; interface{} fields receive the raw value.
//
// Errors caused by the input are *Error values.
func Unmarshal(s string, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("shorthand: Unmarshal needs a non-nil pointer, got %T", v)
	}
	m, err := Parse(s)
	if err != nil {
		return err
	}
	return decode(m, rv.Elem(), "")
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

func decode(val any, rv reflect.Value, path string) error {
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			rv.Set(reflect.New(rv.Type().Elem()))
		}
		return decode(val, rv.Elem(), path)
	}
	if rv.CanAddr() && reflect.PointerTo(rv.Type()).Implements(textUnmarshalerType) {
		s, err := scalar(val, path)
		if err != nil {
			return err
		}
		if err := rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return &Error{Key: path, Value: s, Msg: fmt.Sprintf("%q is not valid: %v", s, err)}
		}
		return nil
	}

	switch rv.Kind() {
	case reflect.Interface:
		if rv.NumMethod() != 0 {
			return unsupported(rv, path)
		}
		rv.Set(reflect.ValueOf(val))
		return nil

	case reflect.Struct:
		m, ok := val.(map[string]any)
		if !ok {
			return &Error{Key: path, Value: render(val), Msg: fmt.Sprintf(
				"expected a structure, got %s; write %s={Key=Value,...}", describe(val), lastKey(path))}
		}
		fields, names := structFields(rv.Type())
		for _, k := range sortedKeys(m) {
			idx, ok := fields[k]
			if !ok {
				return unknownKey(path, k, names)
			}
			if err := decode(m[k], rv.FieldByIndex(idx), joinKey(path, k)); err != nil {
				return err
			}
		}
		return nil

	case reflect.Map:
		t := rv.Type()
		if t.Key().Kind() != reflect.String {
			return unsupported(rv, path)
		}
		m, ok := val.(map[string]any)
		if !ok {
			return &Error{Key: path, Value: render(val), Msg: fmt.Sprintf(
				"expected key=value pairs, got %s; write %s={key1=value1,key2=value2}", describe(val), lastKey(path))}
		}
		if rv.IsNil() {
			rv.Set(reflect.MakeMapWithSize(t, len(m)))
		}
		for _, k := range sortedKeys(m) {
			ev := reflect.New(t.Elem()).Elem()
			if err := decode(m[k], ev, joinKey(path, k)); err != nil {
				return err
			}
			rv.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		return nil

	case reflect.Slice:
		items, ok := val.([]any)
		if !ok {
			items = []any{val}
		}
		s := reflect.MakeSlice(rv.Type(), len(items), len(items))
		for i, it := range items {
			if err := decode(it, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		rv.Set(s)
		return nil
	}

	s, err := scalar(val, path)
	if err != nil {
		return err
	}
	switch rv.Kind() {
	case reflect.String:
		rv.SetString(s)
	case reflect.Bool:
		switch {
		case strings.EqualFold(s, "true"):
			rv.SetBool(true)
		case strings.EqualFold(s, "false"):
			rv.SetBool(false)
		default:
			return &Error{Key: path, Value: s, Msg: fmt.Sprintf("%q is not a boolean; use true or false", s)}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, rv.Type().Bits())
		if err != nil {
			return numberError(path, s, err, "an integer", rv.Type().Bits())
		}
		rv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, rv.Type().Bits())
		if err != nil {
			return numberError(path, s, err, "a non-negative integer", rv.Type().Bits())
		}
		rv.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), rv.Type().Bits())
		if err != nil {
			return numberError(path, s, err, "a number", rv.Type().Bits())
		}
		rv.SetFloat(f)
	default:
		return unsupported(rv, path)
	}
	return nil
}

// scalar returns val as a string, or an error explaining that a single
// value was expected.
func scalar(val any, path string) (string, error) {
	switch v := val.(type) {
	case string:
		return v, nil
	case []any:
		hint := "a single value is expected here"
		if len(v) > 1 {
			if s, ok := v[0].(string); ok {
				hint = fmt.Sprintf("to put ',' inside a value, quote it, e.g. %s=\"%s,...\"", lastKey(path), s)
			}
			if s, ok := v[len(v)-1].(string); ok {
				hint += fmt.Sprintf("; if %q was meant as another key, write %s=Value", s, s)
			}
		}
		return "", &Error{Key: path, Value: render(val), Msg: fmt.Sprintf(
			"expected a single value, got the list %s; %s", render(val), hint)}
	default:
		return "", &Error{Key: path, Value: render(val), Msg: fmt.Sprintf(
			"expected a single value, got %s", describe(val))}
	}
}

func numberError(path, s string, err error, what string, bits int) error {
	var msg string
	switch {
	case strings.TrimSpace(s) == "":
		msg = "missing value: expected " + what
	case errors.Is(err, strconv.ErrRange):
		msg = fmt.Sprintf("%q is out of range for a %d-bit value", s, bits)
	default:
		msg = fmt.Sprintf("%q is not %s", s, what)
	}
	return &Error{Key: path, Value: s, Msg: msg}
}

func unsupported(rv reflect.Value, path string) error {
	return &Error{Key: path, Msg: fmt.Sprintf("cannot decode shorthand into Go type %s", rv.Type())}
}

func unknownKey(path, key string, valid []string) error {
	msg := fmt.Sprintf("unknown key %q; valid keys: %s", key, strings.Join(valid, ", "))
	if s := suggest(key, valid); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?", s)
		if strings.EqualFold(s, key) {
			msg += " keys are case-sensitive"
		}
		msg += ")"
	}
	return &Error{Key: path, Value: key, Msg: msg}
}

// suggest returns the valid key closest to key, if it is close enough.
func suggest(key string, valid []string) string {
	for _, v := range valid {
		if strings.EqualFold(v, key) {
			return v
		}
	}
	best, bestDist := "", 3
	if len(key) < 6 {
		bestDist = 2
	}
	lk := strings.ToLower(key)
	for _, v := range valid {
		if d := editDistance(lk, strings.ToLower(v)); d < bestDist {
			best, bestDist = v, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// structFields maps key names to field indexes, and returns the sorted
// names. Direct fields take precedence over those of embedded structs.
func structFields(t reflect.Type) (map[string][]int, []string) {
	fields := map[string][]int{}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		var embedded []reflect.StructField
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				embedded = append(embedded, f)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, seen := fields[name]; !seen {
				fields[name] = append(append([]int(nil), index...), i)
			}
		}
		for _, f := range embedded {
			walk(f.Type, append(append([]int(nil), index...), f.Index...))
		}
	}
	walk(t, nil)
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return fields, names
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lastKey returns the last element of a dotted path, for use in examples.
func lastKey(path string) string {
	if path == "" {
		return "Key"
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '['); i > 0 {
		path = path[:i]
	}
	return path
}

func describe(val any) string {
	switch v := val.(type) {
	case string:
		return fmt.Sprintf("the value %q", v)
	case []any:
		return "the list " + render(v)
	default:
		return "the structure " + render(v)
	}
}

// render formats a parsed value back in shorthand-like form.
func render(val any) string {
	switch v := val.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, it := range v {
			parts[i] = render(it)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		keys := sortedKeys(v)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + render(v[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	default:
		return fmt.Sprint(v)
	}
}

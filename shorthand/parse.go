package shorthand

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a user-facing parse or decode error.
type Error struct {
	// Key is the dotted path of the offending element, such as
	// "InstanceCount" or "EbsConfiguration.EbsBlockDeviceConfigs[0]".
	// It is empty for problems at the top level.
	Key string
	// Value is the offending value. For syntax errors it is the whole input.
	Value string
	// Msg says what is wrong and how to fix it.
	Msg string
	// Pos is, for syntax errors, the 1-based byte offset in Value where
	// parsing failed. It is 0 for other errors.
	Pos int
}

// Error returns "Key: Msg", followed for syntax errors by the input line
// and a caret under the failing position.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Pos > 0 && e.Pos <= len(e.Value)+1 {
		b.WriteByte('\n')
		b.WriteString(caretLines(e.Value, e.Pos-1))
	}
	return b.String()
}

// Path joins prefix (typically a flag name with an index, such as
// "--instance-groups[1]") with e.Key, e.g. "--instance-groups[1].InstanceCount".
// Callers can assign the result to e.Key before printing e.
func (e *Error) Path(prefix string) string {
	switch {
	case prefix == "":
		return e.Key
	case e.Key == "":
		return prefix
	case strings.HasPrefix(e.Key, "["):
		return prefix + e.Key
	default:
		return prefix + "." + e.Key
	}
}

// caretLines renders the line of input containing byte offset off, and a
// caret under that offset, both indented by two spaces.
func caretLines(input string, off int) string {
	start := strings.LastIndexByte(input[:off], '\n') + 1
	end := len(input)
	if i := strings.IndexByte(input[off:], '\n'); i >= 0 {
		end = off + i
	}
	var pad strings.Builder
	for _, r := range input[start:off] {
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	return "  " + input[start:end] + "\n  " + pad.String() + "^"
}

// LooksLikeJSON reports whether s should be treated as JSON rather than
// shorthand: its first non-space character is '[' or '{'. A shorthand
// argument always starts with a key, never with those characters.
func LooksLikeJSON(s string) bool {
	t := strings.TrimLeftFunc(s, unicode.IsSpace)
	return t != "" && (t[0] == '[' || t[0] == '{')
}

// Parse parses one shorthand argument into a map whose values are string,
// []any or map[string]any.
func Parse(s string) (map[string]any, error) {
	p := &parser{in: s}
	return p.parameter()
}

type parser struct {
	in  string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.in) }

func (p *parser) cur() byte { return p.in[p.pos] }

func (p *parser) skipSpace() {
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.in[p.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		p.pos += n
	}
}

// received describes what is at byte offset off, for error messages.
func (p *parser) received(off int) string {
	if off >= len(p.in) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.in[off:])
	return fmt.Sprintf("%q", r)
}

// location describes byte offset off as "column N" or "line L, column N".
func (p *parser) location(off int) string {
	if off > len(p.in) {
		off = len(p.in)
	}
	line := strings.Count(p.in[:off], "\n") + 1
	col := utf8.RuneCountInString(p.in[strings.LastIndexByte(p.in[:off], '\n')+1:off]) + 1
	if line > 1 {
		return fmt.Sprintf("line %d, column %d", line, col)
	}
	return fmt.Sprintf("column %d", col)
}

// fail builds a syntax error at byte offset off:
// "<what> at <location>: expected <expected>, received <x>; <hint>".
func (p *parser) fail(off int, path, what, expected, hint string) *Error {
	msg := fmt.Sprintf("%s at %s: expected %s, received %s", what, p.location(off), expected, p.received(off))
	if hint != "" {
		msg += "; " + hint
	}
	return &Error{Key: path, Value: p.in, Msg: msg, Pos: off + 1}
}

// failMsg builds a syntax error at byte offset off with a free-form message.
func (p *parser) failMsg(off int, path, msg string) *Error {
	return &Error{Key: path, Value: p.in, Msg: msg, Pos: off + 1}
}

func (p *parser) trailingComma(comma int) *Error {
	return p.failMsg(comma, "", fmt.Sprintf(
		"trailing ',' at %s: expected Key=Value after it, found the end of input; remove the trailing ','", p.location(comma)))
}

func (p *parser) unterminated(off int, path string) *Error {
	return p.failMsg(off, path, fmt.Sprintf(
		"unterminated quoted value starting at %s: expected a closing %q before the end of input; add the closing quote",
		p.location(off), rune(p.in[off])))
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parameter = keyval *("," keyval)
func (p *parser) parameter() (map[string]any, error) {
	p.skipSpace()
	if p.eof() {
		return nil, &Error{Value: p.in, Msg: "empty value: expected Key=Value[,Key=Value...]"}
	}
	if c := p.cur(); c == '[' || c == '{' {
		return nil, p.fail(p.pos, "", "syntax error", "Key=Value", "shorthand starts with a key; an argument starting with '[' or '{' is read as JSON")
	}
	out := map[string]any{}
	for {
		keyPos := p.pos
		key, err := p.key("", "a key")
		if err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, p.dupKey(keyPos, "", key, "if you meant to give several items, separate them with spaces, not ','")
		}
		if err := p.equals("", key); err != nil {
			return nil, err
		}
		v, err := p.topValue(key)
		if err != nil {
			return nil, err
		}
		out[key] = v
		p.skipSpace()
		if p.eof() {
			return out, nil
		}
		if p.cur() != ',' {
			return nil, p.fail(p.pos, key, "syntax error", "',' or end of input", hintAfterValue(p.cur()))
		}
		comma := p.pos
		p.pos++
		p.skipSpace()
		if p.eof() {
			return nil, p.trailingComma(comma)
		}
	}
}

func hintAfterValue(c byte) string {
	switch c {
	case '"', '\'':
		return "a quote may only start a value; quote the whole value, e.g. Name=\"My app\""
	case ']', '}':
		return fmt.Sprintf("unbalanced %q; quote the value if it should contain it", c)
	case '=':
		return "quote a value that starts with '=', e.g. Key=\"=x\""
	default:
		return "separate Key=Value items with ','"
	}
}

func (p *parser) dupKey(off int, path, key, hint string) *Error {
	msg := fmt.Sprintf("duplicate key %q at %s", key, p.location(off))
	if hint != "" {
		msg += "; " + hint
	}
	return &Error{Key: path, Value: p.in, Msg: msg, Pos: off + 1}
}

func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-_.#/:", c) >= 0
}

// key reads a non-empty key; expected describes what may appear here.
func (p *parser) key(path, expected string) (string, error) {
	start := p.pos
	for !p.eof() && isKeyChar(p.cur()) {
		p.pos++
	}
	if p.pos > start {
		return p.in[start:p.pos], nil
	}
	hint := "keys consist of letters, digits and - _ . # / :"
	if !p.eof() {
		switch c := p.cur(); c {
		case '"', '\'':
			if quotedRE(c).FindStringIndex(p.in[p.pos:]) == nil {
				return "", p.unterminated(p.pos, path)
			}
			hint = "keys cannot be quoted; " + hint
		case '=':
			hint = "the key is missing before '='"
		}
	}
	return "", p.fail(p.pos, path, "syntax error", expected, hint)
}

func (p *parser) equals(path, key string) error {
	p.skipSpace()
	if p.eof() || p.cur() != '=' {
		return p.fail(p.pos, path, fmt.Sprintf("missing '=' after key %q", key), "'='", "write each item as Key=Value")
	}
	p.pos++
	p.skipSpace()
	return nil
}

// topValue parses the value of a top-level key: a list, a hash or a
// possibly implicit, comma-separated list of values.
func (p *parser) topValue(path string) (any, error) {
	if p.eof() {
		return "", nil
	}
	switch p.cur() {
	case '[':
		return p.list(path)
	case '{':
		return p.hash(path)
	}
	return p.csvValue(path)
}

// item parses an element of a [...] list or a {...} value.
func (p *parser) item(path string) (any, error) {
	if !p.eof() {
		switch p.cur() {
		case '[':
			return p.list(path)
		case '{':
			return p.hash(path)
		}
	}
	return p.firstValue(path)
}

// csvValue parses "a" or the implicit list "a,b,c". List items after the
// first end at a quote, ',' or '='; when an item is followed by anything
// other than ',' or the end of input (typically '=' because it was really
// the next key), parsing backs up to the comma before it.
func (p *parser) csvValue(path string) (any, error) {
	first, err := p.firstValue(path)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() || p.cur() != ',' {
		return first, nil
	}
	items := []any{first}
	for {
		comma := p.pos
		p.pos++
		p.skipSpace()
		if p.eof() {
			return nil, p.trailingComma(comma)
		}
		v, ok := p.secondValue()
		if !ok {
			p.pos = comma
			break
		}
		p.skipSpace()
		if !p.eof() && p.cur() != ',' {
			p.pos = comma
			break
		}
		items = append(items, v)
		if p.eof() {
			break
		}
	}
	if len(items) == 1 {
		return first, nil
	}
	return items, nil
}

// list = "[" [item *("," item)] [","] "]"
func (p *parser) list(path string) ([]any, error) {
	open := p.pos
	p.pos++
	p.skipSpace()
	items := []any{}
	unclosed := func() error {
		return p.fail(p.pos, path, "unclosed '['", "',' or ']'",
			fmt.Sprintf("add the closing ']' for the list opened at %s", p.location(open)))
	}
	for {
		if p.eof() {
			return nil, unclosed()
		}
		if p.cur() == ']' {
			p.pos++
			return items, nil
		}
		v, err := p.item(fmt.Sprintf("%s[%d]", path, len(items)))
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.skipSpace()
		if p.eof() {
			return nil, unclosed()
		}
		switch p.cur() {
		case ']':
			continue
		case ',':
			p.pos++
			p.skipSpace()
		default:
			hint := "quote list items that contain quotes, ',', ']' or '}', e.g. [\"a,b\"]"
			if p.cur() == '=' {
				hint = "quote list items that start with '=', e.g. [\"=x\"]"
			}
			return nil, p.fail(p.pos, path, "syntax error in list", "',' or ']'", hint)
		}
	}
}

// hash = "{" [key "=" item *("," key "=" item)] [","] "}"
func (p *parser) hash(path string) (map[string]any, error) {
	open := p.pos
	p.pos++
	p.skipSpace()
	out := map[string]any{}
	unclosed := func(expected string) error {
		return p.fail(p.pos, path, "unclosed '{'", expected,
			fmt.Sprintf("add the closing '}' for the structure opened at %s", p.location(open)))
	}
	for {
		if p.eof() {
			return nil, unclosed("Key=Value or '}'")
		}
		if p.cur() == '}' {
			p.pos++
			return out, nil
		}
		keyPos := p.pos
		key, err := p.key(path, "a key or '}'")
		if err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, p.dupKey(keyPos, path, key, "give each key once")
		}
		if err := p.equals(path, key); err != nil {
			return nil, err
		}
		var v any = ""
		if p.eof() || p.cur() != '}' {
			if v, err = p.item(joinKey(path, key)); err != nil {
				return nil, err
			}
		}
		out[key] = v
		p.skipSpace()
		if p.eof() {
			return nil, unclosed("',' or '}'")
		}
		switch p.cur() {
		case '}':
			continue
		case ',':
			p.pos++
			p.skipSpace()
		default:
			return nil, p.fail(p.pos, joinKey(path, key), "syntax error in structure", "',' or '}'",
				"quote values that contain quotes, ',', ']' or '}', e.g. {Key=\"a,b\"}")
		}
	}
}

// firstValue parses a quoted value or a bare value that may contain '=',
// '[' and '{' after its first character. It may return "".
func (p *parser) firstValue(path string) (string, error) {
	if !p.eof() {
		if c := p.cur(); c == '"' || c == '\'' {
			v, ok := p.quoted()
			if !ok {
				return "", p.unterminated(p.pos, path)
			}
			return v, nil
		}
	}
	return p.bare(isFirstFollow), nil
}

// secondValue parses an implicit-list item after the first: a quoted value
// or a non-empty bare value that cannot contain '='. It does not advance
// and reports false if there is none.
func (p *parser) secondValue() (string, bool) {
	if c := p.cur(); c == '"' || c == '\'' {
		return p.quoted()
	}
	start := p.pos
	v := p.bare(isSecondFollow)
	return v, p.pos > start
}

var (
	singleQuotedRE = regexp.MustCompile(`^'(?:\\\\|\\'|[^'])*'`)
	doubleQuotedRE = regexp.MustCompile(`^"(?:\\\\|\\"|[^"])*"`)
)

func quotedRE(q byte) *regexp.Regexp {
	if q == '\'' {
		return singleQuotedRE
	}
	return doubleQuotedRE
}

// quoted consumes a '...' or "..." value. Go's regexp picks the same
// match a backtracking engine (as in the aws CLI) would, which matters
// for odd inputs such as 'a\' (the value a\).
func (p *parser) quoted() (string, bool) {
	q := p.cur()
	loc := quotedRE(q).FindStringIndex(p.in[p.pos:])
	if loc == nil {
		return "", false
	}
	inner := p.in[p.pos+1 : p.pos+loc[1]-1]
	p.pos += loc[1]
	inner = strings.ReplaceAll(inner, `\`+string(q), string(q))
	inner = strings.ReplaceAll(inner, `\\`, `\`)
	return inner, true
}

// bare consumes an unquoted value: a start character (or "\,") followed by
// characters accepted by follow (or "\,"). "\," becomes ',' and trailing
// whitespace is trimmed.
func (p *parser) bare(follow func(rune) bool) string {
	var b strings.Builder
	first := true
	for !p.eof() {
		if p.cur() == '\\' && p.pos+1 < len(p.in) && p.in[p.pos+1] == ',' {
			b.WriteByte(',')
			p.pos += 2
			first = false
			continue
		}
		r, n := utf8.DecodeRuneInString(p.in[p.pos:])
		if first && !isStart(r) || !first && !follow(r) {
			break
		}
		b.WriteString(p.in[p.pos : p.pos+n])
		p.pos += n
		first = false
	}
	return strings.TrimRightFunc(b.String(), unicode.IsSpace)
}

// isStart reports whether r may start a bare value: any printable
// character except quotes, ',', '=', '[' and '{'.
func isStart(r rune) bool {
	return r > ' ' && r != '"' && r != '\'' && r != ',' && r != '=' && r != '[' && r != '{'
}

// isFirstFollow reports whether r may continue a bare value in key=value
// position or inside [...] or {...}: anything but quotes, ',', ']', '}'
// and non-space control characters.
func isFirstFollow(r rune) bool {
	if r <= ' ' {
		return unicode.IsSpace(r)
	}
	return r != '"' && r != '\'' && r != ',' && r != ']' && r != '}'
}

// isSecondFollow reports whether r may continue an implicit-list item
// after the first: anything but quotes, ',', '=' and non-space control
// characters.
func isSecondFollow(r rune) bool {
	if r <= ' ' {
		return unicode.IsSpace(r)
	}
	return r != '"' && r != '\'' && r != ',' && r != '='
}

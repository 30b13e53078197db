package meter

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/streamdemo/streamdemo/internal/agentwire"
)

// The events of an answer's body, read without decoding them: the text and
// reasoning deltas, tool-call arguments and chat chunks that are nearly all
// of a stream are counted by walking their bytes once, with nothing
// allocated. An event this walk cannot read exactly as encoding/json does
// (a usage or a response object, escapes beyond the simple ones, invalid
// UTF-8, a field twice or in another case) is decoded instead, so the
// count is the same either way (FuzzScanIsDecoding holds it).

// Observe reads one event's JSON payload (or a whole answer) into the
// tally and reports whether the event is the usage chunk the client did
// not ask for. Most events are walked, not decoded (scan.go).
func (c *Tally) Observe(payload []byte) (hide bool) {
	if c.observeScanned(payload) {
		return false
	}
	return c.observeDecoded(payload)
}

// scanned is what the walk found at an event's top level.
type scanned struct {
	typ, model            []byte
	delta, item, output   []byte // raw values
	thought               int64  // bytes of Perplexity's thought
	choices, choiceOutput int64  // chat choices, and the bytes their deltas and messages hold
}

// topFields are the event's fields accounting reads (see event).
var topFields = [...]string{"type", "delta", "thought", "item", "output", "model", "response", "choices", "usage"}

// observeScanned reads payload into c if the walk can; it reports whether it did.
func (c *Tally) observeScanned(payload []byte) bool {
	var s scanned
	if !json.Valid(payload) || !s.read(payload) {
		return false
	}
	n := s.thought + s.choiceOutput
	typ := string(s.typ) // not kept: no allocation
	switch {
	case strings.HasSuffix(typ, ".delta"):
		m, ok := written(s.delta)
		if !ok {
			return false
		}
		n += m
	case typ == agentwire.OutputItemAdded:
		m, ok := written(s.item)
		if !ok {
			return false
		}
		n += m
	case typ == "":
		m, ok := written(s.output)
		if !ok {
			return false
		}
		n += m
	}
	c.Chars += n
	if typ == agentwire.Failed || typ == agentwire.ErrorEvent {
		c.Failed = true
	}
	if len(s.model) > 0 && string(s.model) != c.Ran {
		c.Ran = string(s.model)
	}
	return true
}

// read walks the event object b (valid JSON), reporting whether it could.
func (s *scanned) read(b []byte) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	var seen [len(topFields)]bool
	return eachMember(b, i, func(key []byte, v, end int) bool {
		f := field(key, topFields[:])
		if f == -2 {
			return false // another case of a field: encoding/json would read it
		}
		if f < 0 {
			return true
		}
		if seen[f] {
			return false // twice: encoding/json keeps the last
		}
		seen[f] = true
		val := b[v:end]
		null := string(val) == "null"
		switch topFields[f] {
		case "type", "model":
			str, ok := plainString(val)
			if !ok && !null {
				return false
			}
			if topFields[f] == "type" {
				s.typ = str
			} else {
				s.model = str
			}
		case "thought":
			if null {
				return true
			}
			n, ok := stringLen(val)
			s.thought = n
			return ok
		case "delta":
			s.delta = val
		case "item":
			s.item = val
		case "output":
			s.output = val
		case "response", "usage":
			return null // decoded: it may hold the answer's usage
		case "choices":
			return null || s.readChoices(b, v)
		}
		return true
	})
}

// readChoices adds up what the chat choices of the array at b[i:] hold.
func (s *scanned) readChoices(b []byte, i int) bool {
	if b[i] != '[' {
		return false
	}
	ok := true
	eachElement(b, i, func(v, end int) bool {
		s.choices++
		if b[v] != '{' {
			ok = false
			return false
		}
		var seen [2]bool
		ok = eachMember(b, v, func(key []byte, cv, cend int) bool {
			f := field(key, []string{"delta", "message"})
			if f == -2 || (f >= 0 && seen[f]) {
				return false
			}
			if f >= 0 {
				seen[f] = true
				n, ok := written(b[cv:cend])
				s.choiceOutput += n
				return ok
			}
			return true
		})
		return ok
	})
	return ok
}

// written is textBytes without decoding: the bytes of every string in raw
// but those under notWritten keys and in the items a tool returned; ok is
// false where the walk cannot say exactly.
func written(raw []byte) (n int64, ok bool) {
	if len(raw) == 0 {
		return 0, true
	}
	switch raw[0] {
	case '"':
		return stringLen(raw)
	case '[':
		ok = true
		eachElement(raw, 0, func(v, end int) bool {
			var m int64
			m, ok = written(raw[v:end])
			n += m
			return ok
		})
		return n, ok
	case '{':
		var keys [16][]byte
		nkeys, results := 0, false
		ok = eachMember(raw, 0, func(key []byte, v, end int) bool {
			if nkeys == len(keys) || bytes.IndexByte(key, '\\') >= 0 {
				return false
			}
			for _, k := range keys[:nkeys] {
				if bytes.Equal(k, key) {
					return false // twice: a map keeps the last
				}
			}
			keys[nkeys] = key
			nkeys++
			val := raw[v:end]
			if string(key) == "type" {
				if str, plain := plainString(val); plain {
					results = strings.HasSuffix(string(str), "_results")
				} else if val[0] == '"' {
					return false
				}
			}
			if notWritten[string(key)] {
				return true
			}
			var m int64
			m, ok = written(val)
			n += m
			return ok
		})
		if results {
			return 0, ok
		}
		return n, ok
	}
	return 0, true // a number, true, false or null
}

// field is the index of key in names; -1 for none, -2 for a name in another case.
func field(key []byte, names []string) int {
	for i, name := range names {
		if string(key) == name {
			return i
		}
	}
	if bytes.IndexByte(key, '\\') >= 0 || !isASCII(key) {
		return -2 // it may be one of names, escaped or folded
	}
	for _, name := range names {
		if len(key) == len(name) && bytes.EqualFold(key, []byte(name)) {
			return -2
		}
	}
	return -1
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// plainString is the contents of the JSON string v if it holds no escapes.
func plainString(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 || !utf8.Valid(v) {
		return nil, false
	}
	return v[1 : len(v)-1], true
}

// stringLen is the length of the JSON string v as decoded; ok is false for
// \u escapes and invalid UTF-8 (which decoding replaces).
func stringLen(v []byte) (int64, bool) {
	if len(v) < 2 || v[0] != '"' || !utf8.Valid(v) {
		return 0, false
	}
	var n int64
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' {
			if v[i+1] == 'u' {
				return 0, false
			}
			i++ // \" \\ \/ \b \f \n \r \t: one byte
		}
		n++
	}
	return n, true
}

// eachMember calls fn with each key of the object at b[i] and where its
// value begins and ends, until fn returns false; it reports whether none did.
func eachMember(b []byte, i int, fn func(key []byte, v, end int) bool) bool {
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != '}' {
		kend := skipValue(b, i)
		key := b[i+1 : kend-1]
		v := skipSpace(b, skipSpace(b, kend)+1) // past the colon
		end := skipValue(b, v)
		if !fn(key, v, end) {
			return false
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return true
}

// eachElement calls fn with where each element of the array at b[i]
// begins and ends, until fn returns false.
func eachElement(b []byte, i int, fn func(v, end int) bool) {
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != ']' {
		end := skipValue(b, i)
		if !fn(i, end) {
			return
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}

// skipValue is where the value at b[i] (valid JSON) ends.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		for i++; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			case '"':
				i = skipValue(b, i) - 1
			}
		}
		return len(b)
	}
	for i < len(b) && !bytes.ContainsRune([]byte(",}] \t\r\n"), rune(b[i])) {
		i++
	}
	return i
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

package projection

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendSession appends the JSON of s to buf, byte for byte as encoding/json
// writes it without HTML escaping: fields in declaration order, empty ones
// left out as their omitempty tags require, and map keys sorted. Marshal
// runs once for every session a batch changes, and encoding/json's
// reflection made it the largest cost of a replay after decoding events.
//
// A field added to Session must be added here too. A test compares the two
// encodings of a session with every field set.
func appendSession(buf []byte, s *Session) []byte {
	w := objectWriter{buf: append(buf, '{')}
	w.str("tenant", s.Tenant)
	w.str("id", s.ID)
	if s.Known {
		w.key("known")
		w.buf = append(w.buf, "true"...)
	}
	w.str("space", s.SpaceID)
	w.str("client", s.ClientID)
	w.int("created", s.Created)
	w.str("recordCapture", s.RecordCaptureID)

	writeMap(&w, "cart", s.Cart, appendInt)
	w.int("cartUpdated", s.CartUpdated)
	w.strs("search", s.Search)
	if s.Rating != nil {
		w.key("rating")
		w.buf = append(w.buf, `{"value":`...)
		w.buf = strconv.AppendInt(w.buf, s.Rating.Value, 10)
		w.buf = append(w.buf, `,"updated":`...)
		w.buf = strconv.AppendInt(w.buf, s.Rating.Updated, 10)
		w.buf = append(w.buf, '}')
	}
	w.str("contact", s.Contact)
	w.int("contactUpdated", s.ContactUpdated)
	writeMap(&w, "stateful", s.Stateful, appendValue)

	w.int("lastActivity", s.LastActivity)
	w.uint("version", s.Version)
	w.uint("applied", s.Applied)
	w.uint("expirySeq", s.ExpirySeq)
	w.int("timerAt", s.TimerAt)
	w.strs("seen", s.Seen)
	return append(w.buf, '}')
}

// writeMap writes the member name as an object of m's entries, keys sorted,
// each value written by value. It writes nothing when m is empty.
func writeMap[V any](w *objectWriter, name string, m map[string]V, value func([]byte, V) []byte) {
	if len(m) == 0 {
		return
	}
	w.key(name)
	w.buf = append(w.buf, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendString(w.buf, k)
		w.buf = append(w.buf, ':')
		w.buf = value(w.buf, m[k])
	}
	w.buf = append(w.buf, '}')
}

func appendInt(buf []byte, v int64) []byte { return strconv.AppendInt(buf, v, 10) }

// appendValue appends the JSON of one stateful value.
func appendValue(buf []byte, v Value) []byte {
	w := objectWriter{buf: append(buf, '{')}
	if v.Str != nil {
		w.key("str")
		w.buf = appendString(w.buf, *v.Str)
	}
	if v.Int != nil {
		w.key("int")
		w.buf = strconv.AppendInt(w.buf, *v.Int, 10)
	}
	w.key("updated")
	w.buf = strconv.AppendInt(w.buf, v.Updated, 10)
	w.key("expiry")
	w.buf = strconv.AppendInt(w.buf, v.Expiry, 10)
	return append(w.buf, '}')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// objectWriter appends the members of one JSON object, the opening brace
// already written. The methods for optional members skip zero values, as
// omitempty does.
type objectWriter struct {
	buf   []byte
	count int
}

// key writes the separator and the name of the next member. Names are
// plain ASCII and need no escaping.
func (w *objectWriter) key(name string) {
	if w.count > 0 {
		w.buf = append(w.buf, ',')
	}
	w.count++
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '"', ':')
}

func (w *objectWriter) str(name, v string) {
	if v != "" {
		w.key(name)
		w.buf = appendString(w.buf, v)
	}
}

func (w *objectWriter) int(name string, v int64) {
	if v != 0 {
		w.key(name)
		w.buf = strconv.AppendInt(w.buf, v, 10)
	}
}

func (w *objectWriter) uint(name string, v uint64) {
	if v != 0 {
		w.key(name)
		w.buf = strconv.AppendUint(w.buf, v, 10)
	}
}

func (w *objectWriter) strs(name string, v []string) {
	if len(v) == 0 {
		return
	}
	w.key(name)
	w.buf = append(w.buf, '[')
	for i, s := range v {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendString(w.buf, s)
	}
	w.buf = append(w.buf, ']')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does with
// HTML escaping off: the quote, the backslash and control characters are
// escaped, U+2028 and U+2029 too, and each invalid UTF-8 byte becomes
// \ufffd.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

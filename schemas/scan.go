package schemas

import "encoding/json"

// scanEvent is the fast path of DecodeEvent. It reads the form that nearly
// every producer writes: one flat object of event members, no member twice,
// strings without escapes. For such a record it fills w exactly as
// encoding/json would and reports true. For anything else it reports false
// and may leave w partly filled. The caller then starts over with
// encoding/json, which also writes the error message of a bad record.
//
// data must already be valid UTF-8 and within MaxRecordBytes. Decoding
// events is the largest cost of a replay. In BenchmarkDecodeEvent,
// encoding/json's parse alone takes about 2.5 times as long as this scan
// with validation.
func scanEvent(data []byte, w *eventWire) bool {
	s := scanner{data: data}
	s.space()
	if !s.consume('{') {
		return false
	}
	s.space()
	if s.consume('}') {
		return s.end()
	}
	var seen uint32
	for {
		name, ok := s.str()
		if !ok {
			return false
		}
		s.space()
		if !s.consume(':') {
			return false
		}
		s.space()
		field := eventMember(name)
		if field < 0 || seen&(1<<field) != 0 {
			// Other members, and members named twice, take the slow path,
			// which ignores the former and rejects the latter.
			return false
		}
		seen |= 1 << field
		if !s.value(field, w) {
			return false
		}
		s.space()
		if s.consume('}') {
			return s.end()
		}
		if !s.consume(',') {
			return false
		}
		s.space()
	}
}

// The members of an event, numbered for scanEvent's bit set.
const (
	memberCaptureID = iota
	memberClientID
	memberDataResidency
	memberEventTime
	memberEventType
	memberInteraction
	memberIP
	memberProductID
	memberSessionID
	memberTenantID
	memberCategoryID
	memberInt1
	memberInt2
	memberInt3
	memberInt4
	memberInt5
	memberStr1
	memberStr2
	memberStr3
	memberStr4
	memberStr5
	memberStateful
	memberPublic
)

// eventMember returns the number of the event member name, or -1. The
// match is exact: a name in another case takes the slow path, which
// rejects it.
func eventMember(name []byte) int {
	switch string(name) { // compiled without a conversion
	case "captureId":
		return memberCaptureID
	case "clientId":
		return memberClientID
	case "dataResidency":
		return memberDataResidency
	case "eventTime":
		return memberEventTime
	case "eventType":
		return memberEventType
	case "interaction":
		return memberInteraction
	case "ip":
		return memberIP
	case "productId":
		return memberProductID
	case "sessionId":
		return memberSessionID
	case "tenantId":
		return memberTenantID
	case "categoryId":
		return memberCategoryID
	case "int1":
		return memberInt1
	case "int2":
		return memberInt2
	case "int3":
		return memberInt3
	case "int4":
		return memberInt4
	case "int5":
		return memberInt5
	case "str1":
		return memberStr1
	case "str2":
		return memberStr2
	case "str3":
		return memberStr3
	case "str4":
		return memberStr4
	case "str5":
		return memberStr5
	case "stateful":
		return memberStateful
	case "public":
		return memberPublic
	}
	return -1
}

// scanner reads JSON tokens from data, starting at i.
type scanner struct {
	data []byte
	i    int
}

// value reads the value of the member numbered field into w.
func (s *scanner) value(field int, w *eventWire) bool {
	switch field {
	case memberInteraction:
		return s.boolean(&w.Interaction)
	case memberStateful:
		return s.boolean(&w.Stateful)
	case memberSessionID:
		return s.flex(&w.SessionID)
	case memberInt1:
		return s.number(&w.Int1)
	case memberInt2:
		return s.number(&w.Int2)
	case memberInt3:
		return s.number(&w.Int3)
	case memberInt4:
		return s.number(&w.Int4)
	case memberInt5:
		return s.number(&w.Int5)
	case memberPublic:
		return s.number(&w.Public)
	}
	var p **string
	switch field {
	case memberCaptureID:
		p = &w.CaptureID
	case memberClientID:
		p = &w.ClientID
	case memberDataResidency:
		p = &w.DataResidency
	case memberEventTime:
		p = &w.EventTime
	case memberEventType:
		p = &w.EventType
	case memberIP:
		p = &w.IP
	case memberProductID:
		p = &w.ProductID
	case memberTenantID:
		p = &w.TenantID
	case memberCategoryID:
		p = &w.CategoryID
	case memberStr1:
		p = &w.Str1
	case memberStr2:
		p = &w.Str2
	case memberStr3:
		p = &w.Str3
	case memberStr4:
		p = &w.Str4
	case memberStr5:
		p = &w.Str5
	default:
		return false
	}
	if s.literal("null") {
		return true // each member appears once, so *p is still nil
	}
	text, ok := s.str()
	if !ok {
		return false
	}
	v := string(text)
	*p = &v
	return true
}

// boolean reads true, false or null.
func (s *scanner) boolean(p **bool) bool {
	var v bool
	switch {
	case s.literal("null"):
		return true
	case s.literal("true"):
		v = true
	case s.literal("false"):
	default:
		return false
	}
	*p = &v
	return true
}

// flex reads a string, a number or null into a flexString.
func (s *scanner) flex(p *flexString) bool {
	if s.literal("null") {
		return true
	}
	if s.i < len(s.data) && s.data[s.i] == '"' {
		text, ok := s.str()
		p.value = string(text)
		return ok
	}
	text, ok := s.num()
	p.value = string(text)
	return ok
}

// number reads a number or null into a wireNumber.
func (s *scanner) number(p *wireNumber) bool {
	if s.literal("null") {
		return true
	}
	text, ok := s.num()
	if !ok {
		return false
	}
	v := json.Number(text)
	p.value = &v
	return true
}

// space skips JSON white space.
func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips c if it is next.
func (s *scanner) consume(c byte) bool {
	if s.i < len(s.data) && s.data[s.i] == c {
		s.i++
		return true
	}
	return false
}

// literal skips lit if it is next and is not followed by more letters.
func (s *scanner) literal(lit string) bool {
	end := s.i + len(lit)
	if end > len(s.data) || string(s.data[s.i:end]) != lit {
		return false
	}
	if end < len(s.data) && s.data[end] >= 'a' && s.data[end] <= 'z' {
		return false
	}
	s.i = end
	return true
}

// end reports whether only white space follows.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.data)
}

// str reads a string and returns its contents. It rejects escapes, which
// the slow path decodes, and the control characters JSON forbids in strings.
func (s *scanner) str() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.data); s.i++ {
		switch c := s.data[s.i]; {
		case c == '"':
			s.i++
			return s.data[start : s.i-1], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// num reads a number in JSON's grammar: an optional minus, an integer part
// without leading zeros, then an optional fraction and exponent.
func (s *scanner) num() ([]byte, bool) {
	start := s.i
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.digits() == 0:
		return nil, false
	}
	if s.consume('.') && s.digits() == 0 {
		return nil, false
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if s.digits() == 0 {
			return nil, false
		}
	}
	return s.data[start:s.i], true
}

// digits skips decimal digits and returns how many there were.
func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

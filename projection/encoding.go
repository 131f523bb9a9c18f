package projection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Format bytes that lead every encoding. Each names the kind of state and the
// version of its layout. A change that old code cannot read gets a new byte.
// Fields may be added without one, because decoding ignores unknown fields.
const (
	formatSessionV1 byte = 1
	formatClientV1  byte = 2
	formatSpaceV1   byte = 3
)

// Marshal encodes s for the state store: a format byte followed by the JSON
// that encoding/json would write without HTML escaping. The encoding of equal
// sessions is equal, because map keys are sorted.
func Marshal(s *Session) ([]byte, error) {
	if s == nil {
		return nil, errors.New("projection: cannot marshal a nil session")
	}
	// The capacity is a guess that fits most sessions in one allocation.
	size := 256 + 32*(len(s.Seen)+len(s.Search)+len(s.Cart)) + 80*len(s.Stateful)
	return appendSession(append(make([]byte, 0, size), formatSessionV1), s), nil
}

// Unmarshal decodes bytes written by Marshal. It returns an error wrapping
// ErrCorrupt for an unknown format byte, invalid JSON or a cart quantity
// that is not above zero. Marshal omits empty maps and lists, so they decode
// as nil.
func Unmarshal(b []byte) (*Session, error) {
	var s Session
	if err := unmarshalWithFormat(formatSessionV1, b, &s); err != nil {
		return nil, err
	}
	for product, q := range s.Cart {
		if q <= 0 {
			return nil, fmt.Errorf("%w: product %q has quantity %d", ErrCorrupt, product, q)
		}
	}
	return &s, nil
}

// MarshalClient encodes c for the state store like Marshal.
func MarshalClient(c *ClientState) ([]byte, error) {
	if c == nil {
		return nil, errors.New("projection: cannot marshal a nil client")
	}
	return marshalWithFormat(formatClientV1, c)
}

// UnmarshalClient decodes bytes written by MarshalClient. It returns an
// error wrapping ErrCorrupt for an unknown format byte or invalid JSON.
func UnmarshalClient(b []byte) (*ClientState, error) {
	var c ClientState
	if err := unmarshalWithFormat(formatClientV1, b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// marshalWithFormat writes the format byte and v as JSON. It does not
// escape '<', '>' and '&', which would make ids of those characters six
// times longer in Pebble and in the changelog.
func marshalWithFormat(format byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer([]byte{format})
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("projection: encode state: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func unmarshalWithFormat(format byte, b []byte, v any) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty value", ErrCorrupt)
	}
	if b[0] != format {
		return fmt.Errorf("%w: format byte %d, expected %d", ErrCorrupt, b[0], format)
	}
	if err := json.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

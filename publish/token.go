package publish

import (
	"encoding/base64"
	"fmt"
)

// encodedMark starts every encoded token. Plain tokens never contain it, so
// the two forms cannot collide.
const encodedMark = '~'

var tokenEncoding = base64.RawURLEncoding.Strict()

// Token encodes an id as one NATS subject token. A non-empty id made only of
// ASCII letters, digits, '_' and '-' is returned unchanged. Any other id,
// including the empty one, becomes "~" followed by the unpadded URL-safe
// base64 of its bytes, so '.', '*', '>', white space or invalid UTF-8 in an
// id can never change which subjects a message reaches.
//
// An encoded token is about 4/3 the length of the id. Callers bound id
// lengths so that subjects stay under MaxSubjectBytes.
func Token(id string) string {
	if isPlain(id) {
		return id
	}
	return string(encodedMark) + tokenEncoding.EncodeToString([]byte(id))
}

// ParseToken returns the id that Token encoded as tok. It returns an error
// wrapping ErrInvalidToken for a token that Token does not produce, such as
// a plain id written in the encoded form, so each id has one token only.
func ParseToken(tok string) (string, error) {
	if tok == "" {
		return "", fmt.Errorf("%w: empty token", ErrInvalidToken)
	}
	if tok[0] != encodedMark {
		if !isPlain(tok) {
			return "", fmt.Errorf("%w: %q contains a character outside [A-Za-z0-9_-]", ErrInvalidToken, tok)
		}
		return tok, nil
	}

	raw, err := tokenEncoding.DecodeString(tok[1:])
	if err != nil {
		return "", fmt.Errorf("%w: %q is not unpadded URL-safe base64 after '~': %w", ErrInvalidToken, tok, err)
	}
	// The decoder skips CR and LF, and a plain id has a plain token, so a
	// token is valid only if Token gives it back for the decoded id.
	id := string(raw)
	if Token(id) != tok {
		return "", fmt.Errorf("%w: %q is not the form Token produces for %q", ErrInvalidToken, tok, id)
	}
	return id, nil
}

// isPlain reports whether id is non-empty and made only of [A-Za-z0-9_-],
// the characters that Token passes through unchanged.
func isPlain(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

package projection

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/gridsession/gridsession/schemas"
)

// HashContact returns the HMAC-SHA256 of a contact under key, as 64
// lowercase hex digits, so that contacts can be counted and compared without
// storing their values. key should be a secret of at least 32 random bytes.
//
// The type is trimmed of white space and lowercased, and the value is
// trimmed. Values are otherwise compared exactly, so producers should
// normalise them (for example lowercase e-mail addresses). The length of the
// normalised type is hashed before it, so two normalised (type, value) pairs
// never share an HMAC input.
func HashContact(key []byte, contactType, value string) string {
	contactType = strings.ToLower(strings.TrimSpace(contactType))
	value = strings.TrimSpace(value)

	mac := hmac.New(sha256.New, key)
	var length [binary.MaxVarintLen64]byte
	mac.Write(length[:binary.PutUvarint(length[:], uint64(len(contactType)))])
	mac.Write([]byte(contactType))
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil))
}

// identify sets Contact to the keyed hash of the contact in str1 (type) and
// str2 (value). Contribution is set only when the contact changes.
func (s *Session) identify(e *schemas.Event, at int64, key []byte) (Changes, error) {
	if len(key) == 0 {
		return Changes{}, ErrNoContactKey
	}
	if e.Str1 == nil || strings.TrimSpace(*e.Str1) == "" {
		return Changes{}, fieldError(schemas.ReasonMissingField, "str1", "", "contact type is required for CONTACT_IDENTIFY")
	}
	if e.Str2 == nil || strings.TrimSpace(*e.Str2) == "" {
		return Changes{}, fieldError(schemas.ReasonMissingField, "str2", "", "contact value is required for CONTACT_IDENTIFY")
	}

	contact := HashContact(key, *e.Str1, *e.Str2)
	s.ContactUpdated = at
	if contact == s.Contact {
		return Changes{}, nil
	}
	s.Contact = contact
	return Changes{Contribution: true}, nil
}

package statestore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Key layout. The first byte separates state rows from store metadata:
//
//	state row:       's' tenant 0x00 table 0x00 id
//	applied offset:  'm' 'o' source
//	layout version:  'm' 'v'
//
// The tenant comes first, so the rows of one tenant are contiguous and a scan
// of one tenant's table never reads another tenant's keys. Tenant, table and
// id never contain 0x00, so the separators are unambiguous: the scan prefix
// for tenant "a" ends in 0x00 and cannot match the keys of tenant "ab".
const (
	prefixState = 's'
	prefixMeta  = 'm'
	metaOffset  = 'o'
	metaLayout  = 'v'
	separator   = 0x00
)

// layoutVersion is the version of the key layout above. Open stores it in a
// new store and rejects a store that holds another version, so a future
// layout change cannot misread old directories.
const layoutVersion = 1

var (
	layoutKey    = []byte{prefixMeta, metaLayout}
	offsetPrefix = []byte{prefixMeta, metaOffset}
	statePrefix  = []byte{prefixState}
)

// validatePart rejects an empty key part or one that contains the separator.
func validatePart(name, value string) error {
	if value == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidKey, name)
	}
	if strings.IndexByte(value, separator) >= 0 {
		return fmt.Errorf("%w: %s %q contains a 0x00 byte", ErrInvalidKey, name, value)
	}
	return nil
}

// appendTablePrefix appends the prefix shared by all rows of one tenant's
// table to dst.
func appendTablePrefix(dst []byte, tenant, table string) ([]byte, error) {
	if err := validatePart("tenant", tenant); err != nil {
		return dst, err
	}
	if err := validatePart("table", table); err != nil {
		return dst, err
	}

	dst = append(dst, prefixState)
	dst = append(dst, tenant...)
	dst = append(dst, separator)
	dst = append(dst, table...)
	return append(dst, separator), nil
}

// appendStateKey appends the key of one state row to dst.
func appendStateKey(dst []byte, tenant, table, id string) ([]byte, error) {
	if err := validatePart("id", id); err != nil {
		return dst, err
	}
	dst, err := appendTablePrefix(dst, tenant, table)
	if err != nil {
		return dst, err
	}
	return append(dst, id...), nil
}

// parseStateKey splits a state row key into its tenant, table and id. It
// returns an error wrapping ErrCorrupt for a key that appendStateKey cannot
// have written.
func parseStateKey(key []byte) (tenant, table, id string, err error) {
	if len(key) == 0 || key[0] != prefixState {
		return "", "", "", fmt.Errorf("%w: state key %q lacks the state prefix", ErrCorrupt, key)
	}

	parts := bytes.SplitN(key[1:], []byte{separator}, 3)
	if len(parts) != 3 || len(parts[0]) == 0 || len(parts[1]) == 0 || len(parts[2]) == 0 ||
		bytes.IndexByte(parts[2], separator) >= 0 {
		return "", "", "", fmt.Errorf("%w: state key %q does not have three non-empty parts", ErrCorrupt, key)
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}

// appendOffsetKey appends the key of the applied offset of source to dst.
func appendOffsetKey(dst []byte, source string) ([]byte, error) {
	if source == "" {
		return dst, fmt.Errorf("%w: source is empty", ErrInvalidOffset)
	}
	dst = append(dst, offsetPrefix...)
	return append(dst, source...), nil
}

// encodeUint64 returns v as 8 big-endian bytes.
func encodeUint64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, v)
}

// decodeUint64 reads a value that encodeUint64 wrote. name describes the
// value in the error.
func decodeUint64(name string, value []byte) (uint64, error) {
	if len(value) != 8 {
		return 0, fmt.Errorf("%w: %s has %d bytes, expected 8", ErrCorrupt, name, len(value))
	}
	return binary.BigEndian.Uint64(value), nil
}

// prefixEnd returns the smallest key greater than every key that starts with
// prefix, for use as an exclusive upper bound. It returns nil, meaning no
// bound, when prefix is all 0xff bytes.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

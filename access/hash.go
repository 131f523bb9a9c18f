package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of new hashes: the minimum configuration that the OWASP
// Password Storage Cheat Sheet recommends for argon2id (19 MiB of memory, 2
// passes, 1 lane), a 16-byte salt and a 32-byte tag. Each hash stores its
// parameters, so raising them later leaves existing keys valid.
//
// An access key carries 256 random bits, so guessing it from its hash is
// infeasible with any hash function. The slow hash adds a margin in case the
// topic leaks together with a weaker secret, and its cost of milliseconds
// and 19 MiB per verification is why Registry caches successful checks and
// bounds how many hashes run at once.
const (
	argonMemoryKiB = 19 * 1024
	argonPasses    = 2
	argonLanes     = 1
	argonSaltBytes = 16
	argonTagBytes  = 32
)

// Bounds on the parameters of a hash read from the topic, so that a forged
// or corrupt record cannot make every worker allocate gigabytes or spin for
// seconds on one check.
const (
	maxArgonMemoryKiB = 256 << 10 // 256 MiB
	maxArgonPasses    = 16
	maxArgonLanes     = 16
	minArgonSaltBytes = 8
	minArgonTagBytes  = 16
	maxArgonBytes     = 64
)

// argonPrefix starts every encoded hash.
var argonPrefix = fmt.Sprintf("$argon2id$v=%d$", argon2.Version)

// argonHash is a parsed argon2id hash in the PHC string format:
// $argon2id$v=19$m=MEMORY_KIB,t=PASSES,p=LANES$SALT$TAG, with salt and tag
// in unpadded standard base64.
type argonHash struct {
	memoryKiB uint32
	passes    uint32
	lanes     uint8
	salt      []byte
	tag       []byte
}

// hashSecret hashes secret with a new random salt and the parameters above
// and returns the encoded hash.
func hashSecret(secret string) (string, error) {
	salt := make([]byte, argonSaltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("access: read random salt: %w", err)
	}
	h := argonHash{memoryKiB: argonMemoryKiB, passes: argonPasses, lanes: argonLanes, salt: salt}
	h.tag = h.sum(secret, argonTagBytes)
	return h.String(), nil
}

func (h *argonHash) sum(secret string, n int) []byte {
	return argon2.IDKey([]byte(secret), h.salt, h.passes, h.memoryKiB, h.lanes, uint32(n))
}

// String encodes h in the PHC string format.
func (h *argonHash) String() string {
	return fmt.Sprintf("%sm=%d,t=%d,p=%d$%s$%s", argonPrefix, h.memoryKiB, h.passes, h.lanes,
		base64.RawStdEncoding.EncodeToString(h.salt), base64.RawStdEncoding.EncodeToString(h.tag))
}

// verify reports whether secret hashes to h's tag. The tags are compared
// in constant time.
func (h *argonHash) verify(secret string) bool {
	return subtle.ConstantTimeCompare(h.sum(secret, len(h.tag)), h.tag) == 1
}

// parseHash decodes an argon2id hash in the PHC string format and checks its
// parameters against the bounds above.
func parseHash(encoded string) (*argonHash, error) {
	rest, ok := strings.CutPrefix(encoded, argonPrefix)
	if !ok {
		return nil, errors.New("hash does not start with " + argonPrefix)
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return nil, errors.New("hash needs parameters, salt and tag separated by '$'")
	}

	h := &argonHash{}
	if err := h.parseParams(parts[0]); err != nil {
		return nil, err
	}
	var err error
	if h.salt, err = decodeHashPart("salt", parts[1], minArgonSaltBytes); err != nil {
		return nil, err
	}
	if h.tag, err = decodeHashPart("tag", parts[2], minArgonTagBytes); err != nil {
		return nil, err
	}
	return h, nil
}

// parseParams parses "m=MEMORY_KIB,t=PASSES,p=LANES" in this order.
func (h *argonHash) parseParams(s string) error {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return fmt.Errorf("hash parameters %q: expected m=...,t=...,p=...", s)
	}
	m, errM := parseParam(fields[0], "m", 8, maxArgonMemoryKiB)
	t, errT := parseParam(fields[1], "t", 1, maxArgonPasses)
	p, errP := parseParam(fields[2], "p", 1, maxArgonLanes)
	if err := errors.Join(errM, errT, errP); err != nil {
		return err
	}
	if m < 8*p {
		return fmt.Errorf("hash parameter m=%d is below 8 KiB per lane for p=%d", m, p)
	}
	h.memoryKiB, h.passes, h.lanes = uint32(m), uint32(t), uint8(p)
	return nil
}

func parseParam(field, name string, lo, hi uint64) (uint64, error) {
	value, ok := strings.CutPrefix(field, name+"=")
	if !ok {
		return 0, fmt.Errorf("hash parameter %q: expected %s=", field, name)
	}
	n, err := strconv.ParseUint(value, 10, 32)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("hash parameter %s=%s: expected a number from %d to %d", name, value, lo, hi)
	}
	return n, nil
}

func decodeHashPart(name, s string, minBytes int) ([]byte, error) {
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("hash %s: invalid unpadded base64: %w", name, err)
	}
	if len(b) < minBytes || len(b) > maxArgonBytes {
		return nil, fmt.Errorf("hash %s is %d bytes, expected %d to %d", name, len(b), minBytes, maxArgonBytes)
	}
	return b, nil
}

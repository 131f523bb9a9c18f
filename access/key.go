package access

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

// Formats of the key material. A browser id is "b-" and 20 characters of
// lower-case base32, which carry 100 random bits. An access key is "gsk_"
// and 32 random bytes in unpadded base64url, 47 characters in all.
const (
	browserIDPrefix = "b-"
	browserIDChars  = 20
	secretPrefix    = "gsk_"
	secretBytes     = 32
)

var browserIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// secretLen is the length of an encoded access key.
var secretLen = len(secretPrefix) + base64.RawURLEncoding.EncodedLen(secretBytes)

// Key is an access key without its secret: the browser id and the tenant
// and spaces it may read. The secret and its hash are never part of a Key.
type Key struct {
	BrowserID string `json:"browserId"`
	TenantID  string `json:"tenantId"`
	// Spaces lists the spaces the key may read, sorted. Empty means every
	// space of the tenant.
	Spaces  []string  `json:"spaces"`
	Created time.Time `json:"created"`
	Revoked bool      `json:"revoked"`
	// RevokedAt is zero unless Revoked.
	RevokedAt time.Time `json:"revokedAt,omitzero"`
}

// record is the value of a key's record in the access-keys topic. Hash is
// empty once the key is revoked.
type record struct {
	Key
	Hash string `json:"hash,omitempty"`
}

// newBrowserID returns a random browser id from the CSPRNG.
func newBrowserID() (string, error) {
	// 13 bytes encode to 21 characters, and the first 20 of them keep
	// 100 of the 104 random bits.
	b := make([]byte, 13)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("access: read random browser id: %w", err)
	}
	return browserIDPrefix + browserIDEncoding.EncodeToString(b)[:browserIDChars], nil
}

// newSecret returns a random access key from the CSPRNG.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("access: read random access key: %w", err)
	}
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormedSecret reports whether s has the form of an access key, so that
// Check hashes nothing else.
func wellFormedSecret(s string) bool {
	if len(s) != secretLen || !strings.HasPrefix(s, secretPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(secretPrefix):])
	return err == nil
}

// validateScope checks tenant and spaces with the id rules of records and
// returns the spaces sorted and without duplicates.
func validateScope(tenant string, spaces []string) ([]string, error) {
	if err := schemas.CheckID("tenantId", tenant); err != nil {
		return nil, err
	}
	for _, s := range spaces {
		if err := schemas.CheckID("spaceId", s); err != nil {
			return nil, err
		}
	}
	sorted := append([]string{}, spaces...)
	slices.Sort(sorted)
	return slices.Compact(sorted), nil
}

// denial returns why k may not read space of tenant, or "" when it may. An
// empty space requests the whole tenant, which a key limited to spaces may
// not read.
func (k *Key) denial(tenant, space string) string {
	switch {
	case tenant != k.TenantID:
		return reasonOtherTenant
	case len(k.Spaces) == 0:
		return ""
	case space == "":
		return reasonSpaceRequired
	case !slices.Contains(k.Spaces, space):
		return reasonOtherSpace
	}
	return ""
}

// encodeRecord returns the JSON value of rec, with spaces as [] rather than
// null when the key covers the whole tenant.
func encodeRecord(rec record) ([]byte, error) {
	if rec.Spaces == nil {
		rec.Spaces = []string{}
	}
	return json.Marshal(rec)
}

// decodeRecord decodes and checks the record of browserID, the Kafka key.
// It returns the parsed hash, or nil for a revoked key.
func decodeRecord(browserID string, value []byte) (*record, *argonHash, error) {
	var rec record
	if err := json.Unmarshal(value, &rec); err != nil {
		return nil, nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if rec.BrowserID != browserID {
		return nil, nil, fmt.Errorf("browserId %q differs from the Kafka key", rec.BrowserID)
	}
	if err := schemas.CheckID("browserId", browserID); err != nil {
		return nil, nil, err
	}
	spaces, err := validateScope(rec.TenantID, rec.Spaces)
	if err != nil {
		return nil, nil, err
	}
	rec.Spaces = spaces
	if rec.Created.IsZero() {
		return nil, nil, errors.New("created is missing")
	}
	if rec.Revoked {
		rec.Hash = ""
		return &rec, nil, nil
	}
	hash, err := parseHash(rec.Hash)
	if err != nil {
		return nil, nil, err
	}
	return &rec, hash, nil
}

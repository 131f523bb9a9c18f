package access

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

func TestNewBrowserIDFormat(t *testing.T) {
	pattern := regexp.MustCompile(`^b-[a-z2-7]{20}$`)
	seen := map[string]bool{}
	for range 100 {
		id, err := newBrowserID()
		if err != nil {
			t.Fatal(err)
		}
		if !pattern.MatchString(id) {
			t.Fatalf("browser id %q does not match %s", id, pattern)
		}
		if err := schemas.CheckID("browserId", id); err != nil {
			t.Fatalf("browser id %q breaks the id rules: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("browser id %q generated twice", id)
		}
		seen[id] = true
	}
}

func TestNewSecretFormat(t *testing.T) {
	pattern := regexp.MustCompile(`^gsk_[A-Za-z0-9_-]{43}$`)
	for range 100 {
		secret, err := newSecret()
		if err != nil {
			t.Fatal(err)
		}
		if !pattern.MatchString(secret) {
			t.Fatalf("secret %q does not match %s", secret, pattern)
		}
		if !wellFormedSecret(secret) {
			t.Fatalf("wellFormedSecret(%q) is false", secret)
		}
	}
}

func TestWellFormedSecretRejects(t *testing.T) {
	valid, _ := newSecret()
	for _, s := range []string{
		"",
		"gsk_",
		valid[:len(valid)-1],
		valid + "A",
		"gsx_" + valid[4:],
		valid[:10] + "!" + valid[11:],
	} {
		if wellFormedSecret(s) {
			t.Errorf("wellFormedSecret(%q) is true", s)
		}
	}
}

func TestKeyDenial(t *testing.T) {
	all := Key{TenantID: "shop", Spaces: []string{}}
	some := Key{TenantID: "shop", Spaces: []string{"store-1", "store-2"}}
	cases := []struct {
		name   string
		key    Key
		tenant string
		space  string
		want   string
	}{
		{"tenant-wide read", all, "shop", "", ""},
		{"any space", all, "shop", "store-9", ""},
		{"other tenant", all, "other", "", reasonOtherTenant},
		{"listed space", some, "shop", "store-2", ""},
		{"unlisted space", some, "shop", "store-3", reasonOtherSpace},
		{"tenant-wide read of limited key", some, "shop", "", reasonSpaceRequired},
		{"listed space of other tenant", some, "other", "store-1", reasonOtherTenant},
	}
	for _, c := range cases {
		if got := c.key.denial(c.tenant, c.space); got != c.want {
			t.Errorf("%s: denial(%q, %q) = %q, expected %q", c.name, c.tenant, c.space, got, c.want)
		}
	}
}

func TestValidateScope(t *testing.T) {
	spaces, err := validateScope("shop", []string{"b", "a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(spaces, []string{"a", "b"}) {
		t.Errorf("spaces %q, expected [a b]", spaces)
	}
	if spaces, _ := validateScope("shop", nil); spaces == nil {
		t.Error("spaces of a tenant-wide key are nil, expected empty")
	}

	for _, c := range []struct {
		tenant string
		spaces []string
		field  string
	}{
		{"", nil, "tenantId"},
		{"a.b", nil, "tenantId"},
		{"shop", []string{"store 1"}, "spaceId"},
		{"shop", []string{""}, "spaceId"},
	} {
		_, err := validateScope(c.tenant, c.spaces)
		var fieldErr *schemas.FieldError
		if !errors.As(err, &fieldErr) || fieldErr.Field != c.field {
			t.Errorf("validateScope(%q, %q) = %v, expected an error on %s", c.tenant, c.spaces, err, c.field)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	hash, err := hashSecret("gsk_x")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := record{Key: Key{BrowserID: "b-abc", TenantID: "shop", Created: created}, Hash: hash}
	value, err := encodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"browserId":"b-abc"`, `"tenantId":"shop"`, `"spaces":[]`, `"created":"2026-01-02T03:04:05Z"`, `"revoked":false`, `"hash":"$argon2id$`} {
		if !strings.Contains(string(value), want) {
			t.Errorf("record %s does not contain %s", value, want)
		}
	}
	if strings.Contains(string(value), "revokedAt") {
		t.Errorf("record %s of an active key has revokedAt", value)
	}

	got, parsed, err := decodeRecord("b-abc", value)
	if err != nil {
		t.Fatalf("decode %s: %v", value, err)
	}
	if parsed == nil || got.TenantID != "shop" || !got.Created.Equal(created) {
		t.Errorf("decoded %+v with hash %v", got, parsed)
	}
	if _, _, err := decodeRecord("b-other", value); err == nil {
		t.Error("record decoded under another Kafka key")
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	cases := map[string]string{
		"not JSON":        `{`,
		"no tenant":       `{"browserId":"b-1","spaces":[],"hash":"x","created":"2026-01-02T03:04:05Z"}`,
		"invalid space":   `{"browserId":"b-1","tenantId":"t","spaces":["a*"],"created":"2026-01-02T03:04:05Z"}`,
		"no created":      `{"browserId":"b-1","tenantId":"t","spaces":[],"revoked":true}`,
		"active, no hash": `{"browserId":"b-1","tenantId":"t","spaces":[],"created":"2026-01-02T03:04:05Z"}`,
		"bad hash":        `{"browserId":"b-1","tenantId":"t","spaces":[],"hash":"plain","created":"2026-01-02T03:04:05Z"}`,
	}
	for name, value := range cases {
		if _, _, err := decodeRecord("b-1", []byte(value)); err == nil {
			t.Errorf("%s: decodeRecord(%s) succeeded, expected an error", name, value)
		}
	}

	revoked := `{"browserId":"b-1","tenantId":"t","spaces":[],"created":"2026-01-02T03:04:05Z","revoked":true,"revokedAt":"2026-01-03T00:00:00Z"}`
	rec, hash, err := decodeRecord("b-1", []byte(revoked))
	if err != nil || hash != nil || !rec.Revoked || rec.RevokedAt.IsZero() {
		t.Errorf("revoked record decoded to %+v, hash %v, error %v", rec, hash, err)
	}
}

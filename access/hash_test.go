package access

import (
	"regexp"
	"strings"
	"testing"
)

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashSecretRoundTrip(t *testing.T) {
	secret, err := newSecret()
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := hashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	if !phcPattern.MatchString(encoded) {
		t.Fatalf("hash %q does not match %s", encoded, phcPattern)
	}
	if strings.Contains(encoded, secret[len(secretPrefix):]) {
		t.Fatal("hash contains the secret")
	}

	h, err := parseHash(encoded)
	if err != nil {
		t.Fatalf("parse %q: %v", encoded, err)
	}
	if h.String() != encoded {
		t.Errorf("parsed hash encodes to %q, expected %q", h.String(), encoded)
	}
	if !h.verify(secret) {
		t.Error("hash rejects its own secret")
	}
	other, _ := newSecret()
	if h.verify(other) {
		t.Error("hash accepts another secret")
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	first, _ := hashSecret("gsk_same")
	second, _ := hashSecret("gsk_same")
	if first == second {
		t.Errorf("two hashes of one secret are equal: %q", first)
	}
}

func TestParseHashRejects(t *testing.T) {
	const salt = "c2FsdHNhbHRzYWx0c2FsdA"                     // 16 bytes
	const tag = "dGFndGFndGFndGFndGFndGFndGFndGFndGFndGFndGE" // 32 bytes
	cases := map[string]string{
		"bcrypt":         "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":        "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + tag,
		"old version":    "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + tag,
		"memory too big": "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + tag,
		"memory too low": "$argon2id$v=19$m=8,t=2,p=2$" + salt + "$" + tag,
		"zero passes":    "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + tag,
		"many passes":    "$argon2id$v=19$m=19456,t=100,p=1$" + salt + "$" + tag,
		"params order":   "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + tag,
		"short salt":     "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + tag,
		"short tag":      "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$dGFn",
		"padded salt":    "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + tag,
		"missing tag":    "$argon2id$v=19$m=19456,t=2,p=1$" + salt,
		"empty":          "",
	}
	for name, encoded := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := parseHash(encoded); err == nil {
				t.Errorf("parseHash(%q) succeeded, expected an error", encoded)
			}
		})
	}
}

func BenchmarkHashVerify(b *testing.B) {
	secret, _ := newSecret()
	encoded, _ := hashSecret(secret)
	h, err := parseHash(encoded)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !h.verify(secret) {
			b.Fatal("hash rejects its own secret")
		}
	}
}

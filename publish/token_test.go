package publish

import (
	"errors"
	"regexp"
	"testing"
	"testing/quick"
)

// safeToken matches every token Token may return: no '.', wildcard or white
// space can appear in it.
var safeToken = regexp.MustCompile(`^~?[A-Za-z0-9_-]*$`)

func TestTokenKeepsPlainIDs(t *testing.T) {
	for _, id := range []string{"a", "abc", "A-b_9", "session-42", "0", "-", "_", "UPPER"} {
		if got := Token(id); got != id {
			t.Errorf("Token(%q) = %q, expected the id unchanged", id, got)
		}
	}
}

func TestTokenEncodesOtherIDs(t *testing.T) {
	ids := []string{
		"", "a.b", ".", "*", ">", "a.*", "a.>", "a b", " ", "a\tb", "a\nb", "a\r\nb",
		"~", "~abc", "ünï", "日本", "a\x00b", "\xff\xfe", "a~b", "a+b", "a/b", "a=b",
		Token("a.b"), Token("~"),
	}
	for _, id := range ids {
		tok := Token(id)
		if tok == "" || tok[0] != '~' {
			t.Errorf("Token(%q) = %q, expected the encoded form", id, tok)
		}
		if !safeToken.MatchString(tok) {
			t.Errorf("Token(%q) = %q contains a character outside [A-Za-z0-9_~-]", id, tok)
		}
		got, err := ParseToken(tok)
		if err != nil {
			t.Errorf("ParseToken(Token(%q)) failed: %v", id, err)
			continue
		}
		if got != id {
			t.Errorf("ParseToken(Token(%q)) = %q", id, got)
		}
	}
}

func TestTokenOfEmptyID(t *testing.T) {
	if got := Token(""); got != "~" {
		t.Errorf(`Token("") = %q, expected "~"`, got)
	}
}

func TestParseTokenRejectsInvalid(t *testing.T) {
	tests := []struct {
		name string
		tok  string
	}{
		{"empty", ""},
		{"dot", "a.b"},
		{"wildcard", "*"},
		{"space", "a b"},
		{"tilde inside plain", "a~b"},
		{"not base64", "~!!"},
		{"padded base64", "~Lg=="},
		{"plain id encoded", "~YWJj"},
		{"non-zero trailing bits", "~Lh"},
		{"newline inside base64", "~YS\n5i"},
		{"standard base64 alphabet", "~+/8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseToken(tt.tok)
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("ParseToken(%q) = %q, %v; expected ErrInvalidToken", tt.tok, id, err)
			}
		})
	}
}

func checkTokenRoundTrip(t *testing.T, id string) {
	t.Helper()
	tok := Token(id)
	if !safeToken.MatchString(tok) || tok == "" {
		t.Fatalf("Token(%q) = %q is not a safe token", id, tok)
	}
	got, err := ParseToken(tok)
	if err != nil {
		t.Fatalf("ParseToken(Token(%q)) failed: %v", id, err)
	}
	if got != id {
		t.Fatalf("ParseToken(Token(%q)) = %q", id, got)
	}
}

func TestTokenRoundTripProperty(t *testing.T) {
	roundTrip := func(id string) bool {
		got, err := ParseToken(Token(id))
		return err == nil && got == id && safeToken.MatchString(Token(id))
	}
	if err := quick.Check(roundTrip, &quick.Config{MaxCount: 10000}); err != nil {
		t.Error(err)
	}

	roundTripBytes := func(b []byte) bool { return roundTrip(string(b)) }
	if err := quick.Check(roundTripBytes, &quick.Config{MaxCount: 10000}); err != nil {
		t.Error(err)
	}
}

func FuzzTokenRoundTrip(f *testing.F) {
	for _, seed := range []string{"", "a", "a.b", "*", ">", " ", "~", "~YS5i", "ünï", "\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		checkTokenRoundTrip(t, id)
	})
}

func FuzzParseTokenCanonical(f *testing.F) {
	for _, seed := range []string{"", "a", "~", "~YS5i", "~YWJj", "~Lh", "a.b", "~YS\n5i"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := ParseToken(tok)
		if err != nil {
			return
		}
		if Token(id) != tok {
			t.Fatalf("ParseToken(%q) = %q, but Token(%q) = %q", tok, id, id, Token(id))
		}
	})
}

package publish

import (
	"errors"
	"strings"
	"testing"
)

func TestSubjectsForPlainIDs(t *testing.T) {
	var s Subjects
	tests := []struct {
		got, want string
	}{
		{s.SessionState("acme", "s1"), "gridsession.acme.session.s1.state"},
		{s.SessionEvents("acme", "s1"), "gridsession.acme.session.s1.events"},
		{s.SpaceState("acme", "store-7"), "gridsession.acme.space.store-7.state"},
		{s.SpaceEvents("acme", "store-7"), "gridsession.acme.space.store-7.events"},
		{s.Session("acme", "s1"), "gridsession.acme.session.s1.*"},
		{s.Space("acme", "store-7"), "gridsession.acme.space.store-7.*"},
		{s.Tenant("acme"), "gridsession.acme.>"},
		{s.All(), "gridsession.>"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("subject %q, expected %q", tt.got, tt.want)
		}
	}
}

func TestSubjectsWithPrefix(t *testing.T) {
	s := Subjects{Prefix: "eu.gs"}
	if got, want := s.SessionState("acme", "s1"), "eu.gs.acme.session.s1.state"; got != want {
		t.Errorf("SessionState = %q, expected %q", got, want)
	}
	if got, want := s.All(), "eu.gs.>"; got != want {
		t.Errorf("All = %q, expected %q", got, want)
	}
	a, err := s.Parse("eu.gs.acme.space.x.events")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Address{Tenant: "acme", Kind: KindSpace, ID: "x", Stream: StreamEvents}); a != want {
		t.Errorf("Parse = %+v, expected %+v", a, want)
	}
}

// hostileIDs are ids that would change a subject's routing if they were
// used without encoding.
var hostileIDs = []string{
	"s1", "", ".", "s1.state", "s1.*", "s1.>", "*", ">", "a b", "a\tb", "a\r\nb",
	" s1", "s1 ", "~", "~s1", "ünï", "日本.*", "\xff", Token("s1.state"), Token(">"),
}

func TestSubjectsParseRoundTrip(t *testing.T) {
	var s Subjects
	for _, tenant := range hostileIDs {
		for _, id := range hostileIDs {
			subjects := map[string]Address{
				s.SessionState(tenant, id):  {tenant, KindSession, id, StreamState},
				s.SessionEvents(tenant, id): {tenant, KindSession, id, StreamEvents},
				s.SpaceState(tenant, id):    {tenant, KindSpace, id, StreamState},
				s.SpaceEvents(tenant, id):   {tenant, KindSpace, id, StreamEvents},
			}
			for subject, want := range subjects {
				if n := strings.Count(subject, "."); n != 4 {
					t.Errorf("subject %q for tenant %q and id %q has %d dots, expected 4", subject, tenant, id, n)
				}
				if err := checkSubject(subject); err != nil {
					t.Errorf("subject %q for tenant %q and id %q cannot be published: %v", subject, tenant, id, err)
				}
				got, err := s.Parse(subject)
				if err != nil {
					t.Errorf("Parse(%q) failed: %v", subject, err)
					continue
				}
				if got != want {
					t.Errorf("Parse(%q) = %+v, expected %+v", subject, got, want)
				}
			}
		}
	}
}

func TestSubjectsParseRejects(t *testing.T) {
	var s Subjects
	tests := []struct {
		name, subject string
	}{
		{"other prefix", "other.acme.session.s1.state"},
		{"prefix only", "gridsession"},
		{"too few tokens", "gridsession.acme.session.s1"},
		{"too many tokens", "gridsession.acme.session.s1.state.x"},
		{"unknown kind", "gridsession.acme.store.s1.state"},
		{"unknown stream", "gridsession.acme.session.s1.changes"},
		{"wildcard stream", "gridsession.acme.session.s1.*"},
		{"wildcard tenant", "gridsession.*.session.s1.state"},
		{"tail wildcard", "gridsession.acme.>"},
		{"invalid token", "gridsession.~YWJj.session.s1.state"},
		{"empty id token", "gridsession.acme.session..state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := s.Parse(tt.subject)
			if !errors.Is(err, ErrInvalidSubject) {
				t.Errorf("Parse(%q) = %+v, %v; expected ErrInvalidSubject", tt.subject, a, err)
			}
		})
	}
}

func TestSubjectsValidate(t *testing.T) {
	for _, prefix := range []string{"", "gridsession", "eu.gridsession", "gs-1_x"} {
		if err := (Subjects{Prefix: prefix}).Validate(); err != nil {
			t.Errorf("Validate with prefix %q: %v", prefix, err)
		}
	}
	for _, prefix := range []string{".", "a.", ".a", "a..b", "a.*", ">", "a>b", "a b", "a\tb", "a\x00"} {
		err := (Subjects{Prefix: prefix}).Validate()
		if !errors.Is(err, ErrInvalidSubject) {
			t.Errorf("Validate with prefix %q: %v, expected ErrInvalidSubject", prefix, err)
		}
	}
}

func TestCheckSubjectLength(t *testing.T) {
	if err := checkSubject(strings.Repeat("a", MaxSubjectBytes)); err != nil {
		t.Errorf("subject of MaxSubjectBytes rejected: %v", err)
	}
	if err := checkSubject(strings.Repeat("a", MaxSubjectBytes+1)); err == nil {
		t.Error("subject over MaxSubjectBytes accepted")
	}
}

package publish

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DefaultPrefix is the first token of every subject when Subjects.Prefix is
// empty.
const DefaultPrefix = "gridsession"

// MaxSubjectBytes is the longest subject Publish sends. It stays below
// nats-server's default max_control_line of 4096 bytes, which must hold the
// HPUB verb, the subject and two sizes. The server closes a connection that
// sends a longer control line.
const MaxSubjectBytes = 4000

// Kind is the kind of entity a subject is about.
type Kind string

// Kinds of entity.
const (
	KindSession Kind = "session"
	KindSpace   Kind = "space"
)

// Stream is the kind of message a subject carries.
type Stream string

// Streams of messages.
const (
	// StreamState carries the full state of a session or space after a
	// change, with a Gridsession-Version header.
	StreamState Stream = "state"

	// StreamEvents carries the raw events of a session or space.
	StreamEvents Stream = "events"
)

// Address is a parsed subject. Tenant and ID are raw ids, not tokens.
type Address struct {
	Tenant string
	Kind   Kind
	ID     string
	Stream Stream
}

// Subjects builds and parses the subjects of one deployment. The zero value
// uses DefaultPrefix. A Subjects is a value and safe for concurrent use.
type Subjects struct {
	// Prefix starts every subject and may hold several tokens separated
	// by '.'. Empty means DefaultPrefix. Validate checks it.
	Prefix string
}

func (s Subjects) prefix() string {
	if s.Prefix == "" {
		return DefaultPrefix
	}
	return s.Prefix
}

// Validate checks that the prefix is a literal subject: tokens that are not
// empty and contain no wildcard, ASCII white space or control character.
func (s Subjects) Validate() error {
	if err := checkSubject(s.prefix()); err != nil {
		return fmt.Errorf("%w: prefix %s %w", ErrInvalidSubject, quoteSubject(s.prefix()), err)
	}
	return nil
}

// SessionState is the subject of the state of one session.
func (s Subjects) SessionState(tenant, session string) string {
	return s.entity(tenant, KindSession, session) + "." + string(StreamState)
}

// SessionEvents is the subject of the raw events of one session.
func (s Subjects) SessionEvents(tenant, session string) string {
	return s.entity(tenant, KindSession, session) + "." + string(StreamEvents)
}

// SpaceState is the subject of the state of one space.
func (s Subjects) SpaceState(tenant, space string) string {
	return s.entity(tenant, KindSpace, space) + "." + string(StreamState)
}

// SpaceEvents is the subject of the raw events of the sessions in one space.
func (s Subjects) SpaceEvents(tenant, space string) string {
	return s.entity(tenant, KindSpace, space) + "." + string(StreamEvents)
}

// Session is the wildcard subject that matches the state and the events of
// one session.
func (s Subjects) Session(tenant, session string) string {
	return s.entity(tenant, KindSession, session) + ".*"
}

// Space is the wildcard subject that matches the state and the events of one
// space.
func (s Subjects) Space(tenant, space string) string {
	return s.entity(tenant, KindSpace, space) + ".*"
}

// Tenant is the wildcard subject that matches every message of one tenant.
func (s Subjects) Tenant(tenant string) string {
	return s.prefix() + "." + Token(tenant) + ".>"
}

// All is the wildcard subject that matches every subject under the prefix.
func (s Subjects) All() string {
	return s.prefix() + ".>"
}

func (s Subjects) entity(tenant string, kind Kind, id string) string {
	return s.prefix() + "." + Token(tenant) + "." + string(kind) + "." + Token(id)
}

// Parse returns the address of a subject built by SessionState,
// SessionEvents, SpaceState or SpaceEvents with the same prefix. Any other
// subject, including a wildcard, returns an error wrapping ErrInvalidSubject.
func (s Subjects) Parse(subject string) (Address, error) {
	rest, ok := strings.CutPrefix(subject, s.prefix()+".")
	if !ok {
		return Address{}, fmt.Errorf("%w: %s does not start with %q", ErrInvalidSubject, quoteSubject(subject), s.prefix()+".")
	}
	tokens := strings.Split(rest, ".")
	if len(tokens) != 4 {
		return Address{}, fmt.Errorf("%w: %s has %d tokens after the prefix, expected 4", ErrInvalidSubject, quoteSubject(subject), len(tokens))
	}

	var a Address
	var err error
	if a.Tenant, err = ParseToken(tokens[0]); err != nil {
		return Address{}, fmt.Errorf("%w: %s: tenant: %w", ErrInvalidSubject, quoteSubject(subject), err)
	}
	a.Kind = Kind(tokens[1])
	if a.Kind != KindSession && a.Kind != KindSpace {
		return Address{}, fmt.Errorf("%w: %s: kind %q is neither %q nor %q", ErrInvalidSubject, quoteSubject(subject), a.Kind, KindSession, KindSpace)
	}
	if a.ID, err = ParseToken(tokens[2]); err != nil {
		return Address{}, fmt.Errorf("%w: %s: %s id: %w", ErrInvalidSubject, quoteSubject(subject), a.Kind, err)
	}
	a.Stream = Stream(tokens[3])
	if a.Stream != StreamState && a.Stream != StreamEvents {
		return Address{}, fmt.Errorf("%w: %s: stream %q is neither %q nor %q", ErrInvalidSubject, quoteSubject(subject), a.Stream, StreamState, StreamEvents)
	}
	return a, nil
}

// checkSubject reports why subject cannot be published to: it is empty or
// longer than MaxSubjectBytes, has an empty token, or contains a wildcard,
// ASCII white space or a control character. The error leaves the subject
// out so callers can name it. Subjects built from Token always pass when the
// prefix passes and the ids are short enough.
func checkSubject(subject string) error {
	if subject == "" {
		return errors.New("is empty")
	}
	if len(subject) > MaxSubjectBytes {
		return fmt.Errorf("is %d bytes, the limit is %d", len(subject), MaxSubjectBytes)
	}
	for tok := range strings.SplitSeq(subject, ".") {
		if tok == "" {
			return errors.New("has an empty token")
		}
	}
	for _, r := range subject {
		if r == '*' || r == '>' || r <= ' ' || r == 0x7f {
			return fmt.Errorf("contains %q", r)
		}
	}
	return nil
}

// maxQuotedSubject is how many bytes of a subject an error message quotes.
const maxQuotedSubject = 128

// quoteSubject quotes subject for an error message, shortened to
// maxQuotedSubject bytes.
func quoteSubject(subject string) string {
	if len(subject) <= maxQuotedSubject {
		return strconv.Quote(subject)
	}
	return strconv.Quote(subject[:maxQuotedSubject]) + "..."
}

package publish

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/internal/embedded"
)

func TestPublishDeliversWithHeaders(t *testing.T) {
	n := embedded.NATSForTest(t)
	var s Subjects
	tenant, session, space := "acme.eu", "s 1", "store*7"

	sub := subscribe(t, n.ClientURL(), s.Session(tenant, session))
	spaceSub := subscribe(t, n.ClientURL(), s.SpaceEvents(tenant, space))

	ids := IDs{Tenant: tenant, Session: session, Space: space, CaptureID: "cap-1"}
	batch := []Message{
		StateMessage(s.SessionState(tenant, session), 42, []byte(`{"CART":{}}`), IDs{Tenant: tenant, Session: session}),
		EventMessage(s.SessionEvents(tenant, session), []byte(`{"eventType":"SEARCH"}`), ids),
		EventMessage(s.SpaceEvents(tenant, space), []byte(`{"eventType":"SEARCH"}`), ids),
	}
	if err := New(connect(t, n.ClientURL())).Publish(testContext(t), batch); err != nil {
		t.Fatalf("publish: %v", err)
	}

	state, err := sub.NextMsg(waitTimeout)
	if err != nil {
		t.Fatalf("receive state: %v", err)
	}
	if state.Subject != batch[0].Subject || string(state.Data) != `{"CART":{}}` {
		t.Errorf("state message %q %q, expected %q %q", state.Subject, state.Data, batch[0].Subject, `{"CART":{}}`)
	}
	if v, err := Version(state.Header); err != nil || v != 42 {
		t.Errorf("Version = %d, %v; expected 42", v, err)
	}
	if got := state.Header.Get(HeaderTenant); got != tenant {
		t.Errorf("%s = %q, expected %q", HeaderTenant, got, tenant)
	}
	if got := state.Header.Get(HeaderSession); got != session {
		t.Errorf("%s = %q, expected %q", HeaderSession, got, session)
	}
	if got := state.Header.Get(HeaderSpace); got != "" {
		t.Errorf("%s = %q on a message without a space, expected none", HeaderSpace, got)
	}

	event, err := sub.NextMsg(waitTimeout)
	if err != nil {
		t.Fatalf("receive event: %v", err)
	}
	if _, err := Version(event.Header); !errors.Is(err, ErrInvalidVersion) {
		t.Errorf("Version of an event message: %v, expected ErrInvalidVersion", err)
	}
	if got := event.Header.Get(HeaderCaptureID); got != "cap-1" {
		t.Errorf("%s = %q, expected %q", HeaderCaptureID, got, "cap-1")
	}

	spaceEvent, err := spaceSub.NextMsg(waitTimeout)
	if err != nil {
		t.Fatalf("receive space event: %v", err)
	}
	if got := spaceEvent.Header.Get(HeaderSpace); got != space {
		t.Errorf("%s = %q, expected %q", HeaderSpace, got, space)
	}
	a, err := s.Parse(spaceEvent.Subject)
	if err != nil {
		t.Fatal(err)
	}
	if a.Tenant != tenant || a.ID != space {
		t.Errorf("Parse(%q) = %+v, expected tenant %q and space %q", spaceEvent.Subject, a, tenant, space)
	}
}

func TestHeaderAltersIDWithSpaces(t *testing.T) {
	n := embedded.NATSForTest(t)
	var s Subjects
	session := " s\r\n1 "
	sub := subscribe(t, n.ClientURL(), s.Session("a", session))

	msg := StateMessage(s.SessionState("a", session), 1, nil, IDs{Tenant: "a", Session: session})
	if err := New(connect(t, n.ClientURL())).Publish(testContext(t), []Message{msg}); err != nil {
		t.Fatal(err)
	}
	got, err := sub.NextMsg(waitTimeout)
	if err != nil {
		t.Fatal(err)
	}

	if h := got.Header.Get(HeaderSession); h != "s  1" {
		t.Errorf("%s = %q, expected nats.go to trim it and replace CR LF to give %q", HeaderSession, h, "s  1")
	}
	a, err := s.Parse(got.Subject)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != session {
		t.Errorf("Parse(%q).ID = %q, expected the exact id %q", got.Subject, a.ID, session)
	}
}

func TestPublishEmptyBatch(t *testing.T) {
	n := embedded.NATSForTest(t)
	if err := New(connect(t, n.ClientURL())).Publish(context.Background(), nil); err != nil {
		t.Errorf("publish of no messages: %v", err)
	}
}

func TestPublishWithoutDeadline(t *testing.T) {
	n := embedded.NATSForTest(t)
	p := New(connect(t, n.ClientURL()), WithFlushTimeout(time.Second))
	if err := p.Publish(context.Background(), []Message{{Subject: "gridsession.a.session.b.state"}}); err != nil {
		t.Errorf("publish with a context without deadline: %v", err)
	}
}

func TestPublishSkipsUndeliverableMessages(t *testing.T) {
	n := embedded.NATSForTest(t)
	sub := subscribe(t, n.ClientURL(), "gridsession.>")
	nc := connect(t, n.ClientURL())
	p := New(nc)

	huge := make([]byte, nc.MaxPayload()+1)
	bad := []Message{
		{Subject: ""}, {Subject: "gridsession.a b"}, {Subject: "gridsession.*"}, {Subject: "gridsession..x"},
		{Subject: "gridsession.>"}, {Subject: strings.Repeat("x", MaxSubjectBytes+1)},
		{Subject: "gridsession.huge", Data: huge},
	}
	for _, m := range bad {
		batch := []Message{{Subject: "gridsession.before", Data: []byte("before")}, m, {Subject: "gridsession.after", Data: []byte("after")}}
		err := p.Publish(testContext(t), batch)
		if !errors.Is(err, ErrUndeliverable) {
			t.Errorf("publish with subject %.20q: %v, expected ErrUndeliverable", m.Subject, err)
		}
		if !errors.Is(err, ErrInvalidSubject) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("publish with subject %.20q: %v, expected the cause", m.Subject, err)
		}

		// The valid messages around the bad one are delivered.
		for _, want := range []string{"before", "after"} {
			got, err := sub.NextMsg(waitTimeout)
			if err != nil {
				t.Fatalf("subject %.20q: waiting for %q: %v", m.Subject, want, err)
			}
			if string(got.Data) != want {
				t.Errorf("subject %.20q: received %.20q, expected %q", m.Subject, got.Data, want)
			}
		}
	}
}

func TestPublishCanceledContext(t *testing.T) {
	n := embedded.NATSForTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := New(connect(t, n.ClientURL())).Publish(ctx, []Message{{Subject: "gridsession.x"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("publish with a canceled context: %v, expected context.Canceled", err)
	}
}

func TestPublishOnClosedConnection(t *testing.T) {
	n := embedded.NATSForTest(t)
	nc := connect(t, n.ClientURL())
	nc.Close()
	err := New(nc).Publish(testContext(t), []Message{{Subject: "gridsession.x"}})
	if !errors.Is(err, ErrNotConnected) {
		t.Errorf("publish on a closed connection: %v, expected ErrNotConnected", err)
	}
}

// TestPublishAfterServerShutdown checks both a connection from Connect,
// which does not buffer while reconnecting, and a plain nats.go connection,
// which does: either way Publish must fail before its context ends.
func TestPublishAfterServerShutdown(t *testing.T) {
	connections := map[string]func(t *testing.T, url string) *nats.Conn{
		"Connect": func(t *testing.T, url string) *nats.Conn {
			nc, err := Connect(testContext(t), url, "test", zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			return nc
		},
		"nats.Connect": connect,
	}
	for name, open := range connections {
		t.Run(name, func(t *testing.T) {
			n := embedded.NATSForTest(t)
			p := New(open(t, n.ClientURL()))
			msgs := []Message{StateMessage("gridsession.a.session.b.state", 1, []byte("{}"), IDs{Tenant: "a", Session: "b"})}
			if err := p.Publish(testContext(t), msgs); err != nil {
				t.Fatalf("publish before shutdown: %v", err)
			}

			n.Close()
			const timeout = 2 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			err := p.Publish(ctx, msgs)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("publish after server shutdown succeeded, expected an error")
			}
			if elapsed > timeout+time.Second {
				t.Errorf("publish returned after %s, expected within the %s context", elapsed, timeout)
			}
		})
	}
}

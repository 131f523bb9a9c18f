package publish

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/gridsession/gridsession/internal/embedded"
)

// routedMessage is one message of the routing test, identified by the
// indexes of its tenant and id in the test's lists.
type routedMessage struct {
	tenant, id int
	kind       Kind
	stream     Stream
}

func (m routedMessage) label() string {
	return fmt.Sprintf("%d/%s/%d/%s", m.tenant, m.kind, m.id, m.stream)
}

// routeSub is one subscription of the routing test and the messages it must
// receive, by label.
type routeSub struct {
	subject string
	sub     *nats.Subscription
	want    map[string]bool
}

// TestRoutingWithHostileIDs publishes a message for every combination of
// tenant, kind, id and stream over a real server, with ids that contain
// subject syntax, and checks that every exact and wildcard subscription
// receives exactly its own messages.
func TestRoutingWithHostileIDs(t *testing.T) {
	n := embedded.NATSForTest(t)
	var s Subjects
	tenants := []string{"a", "b", "a.b", "b.a", "*", ">", "a b", "~", "", Token("a.b")}
	ids := hostileIDs

	var msgs []routedMessage
	for ti := range tenants {
		for ii := range ids {
			for _, kind := range []Kind{KindSession, KindSpace} {
				for _, stream := range []Stream{StreamState, StreamEvents} {
					msgs = append(msgs, routedMessage{ti, ii, kind, stream})
				}
			}
		}
	}

	sub := connect(t, n.ClientURL())
	var subs []*routeSub
	addSub := func(subject string, match func(routedMessage) bool) {
		t.Helper()
		ns, err := sub.SubscribeSync(subject)
		if err != nil {
			t.Fatalf("subscribe to %q: %v", subject, err)
		}
		if err := ns.SetPendingLimits(-1, -1); err != nil {
			t.Fatal(err)
		}
		rs := &routeSub{subject: subject, sub: ns, want: map[string]bool{}}
		for _, m := range msgs {
			if match(m) {
				rs.want[m.label()] = true
			}
		}
		subs = append(subs, rs)
	}

	all := len(subs)
	addSub(s.All(), func(routedMessage) bool { return true })
	for ti, tenant := range tenants {
		addSub(s.Tenant(tenant), func(m routedMessage) bool { return m.tenant == ti })
		for ii, id := range ids {
			addSub(s.Session(tenant, id), func(m routedMessage) bool {
				return m.tenant == ti && m.id == ii && m.kind == KindSession
			})
			addSub(s.Space(tenant, id), func(m routedMessage) bool {
				return m.tenant == ti && m.id == ii && m.kind == KindSpace
			})
			addSub(s.SessionState(tenant, id), func(m routedMessage) bool {
				return m == routedMessage{ti, ii, KindSession, StreamState}
			})
			addSub(s.SpaceEvents(tenant, id), func(m routedMessage) bool {
				return m == routedMessage{ti, ii, KindSpace, StreamEvents}
			})
		}
	}
	// A tenant called "b" must never see tenant "a.b", whatever the ids.
	addSub("gridsession.b.>", func(m routedMessage) bool { return tenants[m.tenant] == "b" })
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}

	batch := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		tenant, id := tenants[m.tenant], ids[m.id]
		var subject string
		switch {
		case m.kind == KindSession && m.stream == StreamState:
			subject = s.SessionState(tenant, id)
		case m.kind == KindSession:
			subject = s.SessionEvents(tenant, id)
		case m.stream == StreamState:
			subject = s.SpaceState(tenant, id)
		default:
			subject = s.SpaceEvents(tenant, id)
		}
		batch = append(batch, Message{Subject: subject, Data: []byte(m.label())})
	}
	pub := New(connect(t, n.ClientURL()))
	if err := pub.Publish(testContext(t), batch); err != nil {
		t.Fatalf("publish %d messages: %v", len(batch), err)
	}

	// The server delivers one connection's messages in publish order, and
	// the client queues them on every matching subscription before the
	// next one. Once the All subscription holds every message, the others
	// hold everything they will ever receive.
	waitFor(t, "every message on the All subscription", func() bool {
		pending, _, _ := subs[all].sub.Pending()
		return pending == len(msgs)
	})
	for _, rs := range subs {
		got := map[string]bool{}
		for {
			pending, _, _ := rs.sub.Pending()
			if pending == 0 {
				break
			}
			m, err := rs.sub.NextMsg(0)
			if err != nil {
				t.Fatalf("read queued message of %q: %v", rs.subject, err)
			}
			got[string(m.Data)] = true
		}
		for _, label := range slices.Sorted(maps.Keys(got)) {
			if !rs.want[label] {
				t.Errorf("subscription %q received %s, which it must not", rs.subject, label)
			}
		}
		for _, label := range slices.Sorted(maps.Keys(rs.want)) {
			if !got[label] {
				t.Errorf("subscription %q missed %s", rs.subject, label)
			}
		}
	}
}

func TestTenantWildcardExcludesOtherTenants(t *testing.T) {
	n := embedded.NATSForTest(t)
	var s Subjects
	sub := connect(t, n.ClientURL())
	other, err := sub.SubscribeSync("gridsession.b.>")
	if err != nil {
		t.Fatal(err)
	}
	own, err := sub.SubscribeSync(s.Tenant("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}

	var batch []Message
	for _, id := range []string{"b", "b.>", "x.b", ">", "*.b", "s.state"} {
		batch = append(batch,
			StateMessage(s.SessionState("a", id), 1, []byte(id), IDs{Tenant: "a", Session: id}),
			EventMessage(s.SpaceEvents("a", id), []byte(id), IDs{Tenant: "a", Space: id}))
	}
	if err := New(connect(t, n.ClientURL())).Publish(testContext(t), batch); err != nil {
		t.Fatal(err)
	}

	waitFor(t, "tenant a's messages", func() bool {
		pending, _, _ := own.Pending()
		return pending == len(batch)
	})
	if pending, _, _ := other.Pending(); pending != 0 {
		m, _ := other.NextMsg(0)
		t.Errorf("gridsession.b.> received %d messages of tenant a, first on %q", pending, m.Subject)
	}
}

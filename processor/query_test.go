package processor_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

func TestWorkerAnswersSessionGets(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.send(e.sessionRecord("t1", "s1", "store-1"), e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 2}))
	waitFor(t, 30*time.Second, "records applied", func() bool { return e.appliedEvents() == 1 && e.sessions.Load() == 1 })

	var bal kafka.Murmur2Balancer
	partition := bal.Balance(kafka.Message{Key: []byte("s1")}, 0, 1, 2, 3)
	ask := func(op string, req any) *nats.Msg {
		t.Helper()
		data, _ := json.Marshal(req)
		m, err := e.nc.Request(e.subjects.Query(publish.StageSession, partition, op), data, 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return m
	}

	var got schemas.SessionStateAnswer
	if err := json.Unmarshal(ask(publish.OpSessionGet, schemas.SessionRequest{TenantID: "t1", SessionID: "s1"}).Data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Session.Cart, map[string]int64{"p1": 2}) {
		t.Errorf("session get = %+v", got)
	}

	// A get with another tenant's id returns empty state, never t1's state.
	m := ask(publish.OpSessionGet, schemas.SessionRequest{TenantID: "t2", SessionID: "s1"})
	if string(m.Data) != `{"session":{"CART":{},"SEARCH":[]}}` {
		t.Errorf("other tenant's get = %s", m.Data)
	}

	var space schemas.SessionSpaceAnswer
	if err := json.Unmarshal(ask(publish.OpSessionSpace, schemas.SessionRequest{TenantID: "t1", SessionID: "s1"}).Data, &space); err != nil || space.SpaceID != "store-1" {
		t.Errorf("session space = %+v, %v", space, err)
	}

	m = ask(publish.OpSessionGet, schemas.SessionRequest{TenantID: "t1", SessionID: "s.1"})
	if code := m.Header.Get("Nats-Service-Error-Code"); code != "400" {
		t.Errorf("invalid id answered code %q: %s", code, m.Data)
	}
}

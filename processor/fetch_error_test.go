package processor_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestOneFetchErrorDoesNotStallTopic injects a single broker error into one
// fetch of the events topic and checks that later events still apply.
func TestOneFetchErrorDoesNotStallTopic(t *testing.T) {
	e := newEnv(t)
	e.start()
	var bal kafka.Murmur2Balancer
	target := int32(bal.Balance(kafka.Message{Key: []byte("s0")}, 0, 1, 2, 3))

	e.send(e.event("s0", map[string]any{"eventType": "CART_ADD", "productId": "p0"}))
	waitFor(t, 30*time.Second, "first event", func() bool { return e.appliedEvents() >= 1 })

	var armed, fired atomic.Bool
	armed.Store(true)
	c := e.kafka.Cluster()
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !armed.Load() {
			return nil, nil, false
		}
		fr := req.(*kmsg.FetchRequest)
		for _, tp := range fr.Topics {
			if tp.Topic != e.topics.Events() {
				continue
			}
			for _, p := range tp.Partitions {
				if p.Partition != target {
					continue
				}
				armed.Store(false)
				fired.Store(true)
				resp := fr.ResponseKind().(*kmsg.FetchResponse)
				resp.Version = fr.Version
				rt := kmsg.NewFetchResponseTopic()
				rt.Topic = tp.Topic
				rp := kmsg.NewFetchResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.UnknownServerError.Code
				rp.HighWatermark = -1
				rp.LastStableOffset = -1
				rt.Partitions = append(rt.Partitions, rp)
				resp.Topics = append(resp.Topics, rt)
				return resp, nil, true
			}
		}
		return nil, nil, false
	})
	waitFor(t, 30*time.Second, "fault fired", fired.Load)
	t.Logf("injected one fetch error on %s partition %d", e.topics.Events(), target)

	for i := 1; i <= 5; i++ {
		e.send(e.event("s0", map[string]any{"eventType": "CART_ADD", "productId": "after"}))
	}
	e.send(e.sessionRecord("t1", "s0", "sp1"))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && e.appliedEvents() < 6 {
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("events applied: %d of 6; session records applied: %d of 1", e.appliedEvents(), e.sessions.Load())
	if e.appliedEvents() < 6 {
		t.Fatalf("events after one transient fetch error were not applied within 20s")
	}
}

// TestSlowBrokerStillFeedsPartition delays every fetch of the events topic
// by 300ms before the broker responds. The worker must still apply events:
// a fetch deadline shorter than the broker's response time fails every
// fetch of that topic.
func TestSlowBrokerStillFeedsPartition(t *testing.T) {
	e := newEnv(t)
	c := e.kafka.Cluster()
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for _, tp := range req.(*kmsg.FetchRequest).Topics {
			if tp.Topic == e.topics.Events() {
				c.SleepControl(func() { time.Sleep(300 * time.Millisecond) })
				break
			}
		}
		return nil, nil, false
	})
	e.start()
	for i := range 4 {
		e.send(e.event(fmt.Sprintf("s%d", i), map[string]any{"eventType": "CART_ADD", "productId": "p1"}))
	}
	waitFor(t, 30*time.Second, "the events applied", func() bool { return e.appliedEvents() == 4 })
}

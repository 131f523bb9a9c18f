package processor_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/processor"
)

func TestBadRecordsGoToDeadLetterTopic(t *testing.T) {
	e := newEnv(t)
	e.start()

	huge := strings.Repeat("x", 1<<20)
	bad := []struct {
		name   string
		msg    kafka.Message
		reason string
		field  string
	}{
		{"invalid JSON", kafka.Message{Topic: e.topics.Events(), Key: []byte("s1"), Value: []byte(`{"tenantId":`)}, "invalid_json", ""},
		{"missing eventType", e.event("s1", map[string]any{"eventType": nil}), "missing_field", "eventType"},
		{"unknown region", e.event("s1", map[string]any{"dataResidency": "MARS"}), "unknown_region", "dataResidency"},
		{"rating 0", e.event("s1", map[string]any{"eventType": "RATING", "int1": 0}), "invalid_field", "int1"},
		{"rating 6", e.event("s1", map[string]any{"eventType": "RATING", "int1": 6}), "invalid_field", "int1"},
		{"quantity 0", e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 0}), "invalid_field", "int1"},
		{"quantity -1", e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": -1}), "invalid_field", "int1"},
		{"quantity 10^12", e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 1_000_000_000_000}), "invalid_field", "int1"},
		{"session id with dot", e.event("s1", map[string]any{"sessionId": "s.1"}), "invalid_field", "sessionId"},
		{"session id with star", e.event("s1", map[string]any{"sessionId": "s*"}), "invalid_field", "sessionId"},
		{"session id with gt", e.event("s1", map[string]any{"sessionId": "s>"}), "invalid_field", "sessionId"},
		{"session id with space", e.event("s1", map[string]any{"sessionId": "s 1"}), "invalid_field", "sessionId"},
		{"tenant id with dot", e.event("s1", map[string]any{"tenantId": "t.1"}), "invalid_field", "tenantId"},
		{"1 MiB record", e.event("s1", map[string]any{"str3": huge}), "oversized", ""},
		{"key is not the session id", e.event("s1", map[string]any{"sessionId": "s2"}), "wrong_key", "sessionId"},
	}

	// Valid records surround every bad one; all of them must apply.
	var msgs []kafka.Message
	for i, b := range bad {
		msgs = append(msgs, e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p1", "captureId": "ok-" + strconv.Itoa(i)}))
		msgs = append(msgs, b.msg)
	}
	msgs = append(msgs, e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p1", "captureId": "ok-last"}))
	for _, m := range msgs {
		e.send(m) // one at a time, to keep their order within the partition
	}

	waitFor(t, 30*time.Second, "all records handled", func() bool {
		return e.rejected.Load() >= int64(len(bad)) && e.appliedEvents()+e.rejected.Load() >= int64(len(msgs))
	})
	e.stop()

	stored := storedSessions(t, e.dataDir)["t1/s1"]
	if stored == nil || stored.Cart["p1"] != int64(len(bad)+1) {
		t.Fatalf("valid records around bad ones were not all applied: %+v", stored)
	}

	dead := readDeadLetters(t, e, len(bad))
	for i, b := range bad {
		d := dead[i]
		if got := header(d, ingest.HeaderReason); got != b.reason {
			t.Errorf("%s: reason %q, want %q (error %s)", b.name, got, b.reason, header(d, ingest.HeaderError))
		}
		if got := header(d, ingest.HeaderField); got != b.field {
			t.Errorf("%s: field %q, want %q", b.name, got, b.field)
		}
		if got := header(d, ingest.HeaderSourceTopic); got != e.topics.Events() {
			t.Errorf("%s: source topic %q", b.name, got)
		}
		if header(d, ingest.HeaderSourceOffset) == "" || header(d, ingest.HeaderSourcePartition) == "" {
			t.Errorf("%s: source coordinates missing", b.name)
		}
		if len(d.Value) > ingest.MaxDeadLetterBytes {
			t.Errorf("%s: dead letter value %d bytes", b.name, len(d.Value))
		}
	}
	if got := header(dead[len(bad)-2], ingest.HeaderOriginalSize); got != strconv.Itoa(len(bad[len(bad)-2].msg.Value)) {
		t.Errorf("oversized record original size header %q", got)
	}
}

// readDeadLetters reads n records from every partition of the dead-letter
// topic, in source offset order.
func readDeadLetters(t *testing.T, e *env, n int) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var out []kafka.Message
	for p := 0; p < testPartitions && len(out) < n; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{e.kafka.Addr()}, Topic: e.topics.DLQ(), Partition: p, MaxWait: 100 * time.Millisecond})
		for len(out) < n {
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			m, err := r.ReadMessage(rctx)
			rcancel()
			if err != nil {
				break
			}
			out = append(out, m)
		}
		r.Close()
	}
	if len(out) != n {
		t.Fatalf("dead-letter topic has %d records, want %d", len(out), n)
	}
	sortByOffset(out)
	return out
}

func sortByOffset(msgs []kafka.Message) {
	off := func(m kafka.Message) int64 {
		v, _ := strconv.ParseInt(header(m, ingest.HeaderSourceOffset), 10, 64)
		return v
	}
	for i := 1; i < len(msgs); i++ {
		for j := i; j > 0 && off(msgs[j]) < off(msgs[j-1]); j-- {
			msgs[j], msgs[j-1] = msgs[j-1], msgs[j]
		}
	}
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// wrongBalancer puts every message on the partition after the one murmur2
// picks, as a producer with another partitioner might.
type wrongBalancer struct{ murmur kafka.Murmur2Balancer }

func (b *wrongBalancer) Balance(msg kafka.Message, partitions ...int) int {
	return (b.murmur.Balance(msg, partitions...) + 1) % len(partitions)
}

func TestWrongPartitionGoesToDeadLetterTopic(t *testing.T) {
	e := newEnv(t)
	e.start()

	w := &kafka.Writer{Addr: kafka.TCP(e.kafka.Addr()), Balancer: &wrongBalancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p1"})); err != nil {
		t.Fatal(err)
	}
	e.send(e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p2"}))

	waitFor(t, 30*time.Second, "both records handled", func() bool {
		return e.rejected.Load() == 1 && e.appliedEvents() == 1
	})
	e.stop()

	dead := readDeadLetters(t, e, 1)
	if got := header(dead[0], ingest.HeaderReason); got != processor.ReasonWrongPartition {
		t.Errorf("reason %q, want %q", got, processor.ReasonWrongPartition)
	}
	if got := storedSessions(t, e.dataDir)["t1/s1"].Cart; !reflect.DeepEqual(got, map[string]int64{"p2": 1}) {
		t.Errorf("cart %v, want only the correctly partitioned p2", got)
	}
}

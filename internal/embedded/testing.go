package embedded

import (
	"testing"
	"time"
)

// testGroupMinSessionTimeout lets test consumer groups request session
// timeouts far below Kafka's 6-second minimum, so that the partitions of a
// member that a test stops are reassigned quickly.
const testGroupMinSessionTimeout = 100 * time.Millisecond

// KafkaForTest starts an in-memory broker on a random loopback port with
// topics of partitions partitions (zero means DefaultPartitions), and closes
// it when the test ends. Consumer groups on it may request session timeouts
// down to 100 milliseconds. It fails the test if the broker does not start.
func KafkaForTest(t testing.TB, topics []string, partitions int) *Kafka {
	t.Helper()
	k, err := StartKafka(KafkaOptions{
		Addr:                   "127.0.0.1:0",
		Topics:                 topics,
		Partitions:             partitions,
		GroupMinSessionTimeout: testGroupMinSessionTimeout,
	})
	if err != nil {
		t.Fatalf("start embedded kafka: %v", err)
	}
	t.Cleanup(k.Close)
	return k
}

// NATSForTest starts a NATS server on a random loopback port without
// JetStream, and closes it when the test ends. It fails the test if the
// server does not start.
func NATSForTest(t testing.TB) *NATS {
	t.Helper()
	n, err := StartNATS(NATSOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start embedded nats: %v", err)
	}
	t.Cleanup(n.Close)
	return n
}

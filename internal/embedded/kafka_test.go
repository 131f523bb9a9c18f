package embedded

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// testTimeout bounds every wait on the broker in these tests.
const testTimeout = 30 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func newWriter(addr, topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Topic:        topic,
		Balancer:     &kafka.Murmur2Balancer{},
		BatchTimeout: 10 * time.Millisecond,
		RequiredAcks: kafka.RequireAll,
	}
}

func writeMessages(t *testing.T, w *kafka.Writer, msgs ...kafka.Message) {
	t.Helper()
	if err := w.WriteMessages(testContext(t), msgs...); err != nil {
		t.Fatalf("write %d messages to %s: %v", len(msgs), w.Topic, err)
	}
}

// readPartition reads n messages from the start of one partition.
func readPartition(t *testing.T, addr, topic string, partition, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   []string{addr},
		Topic:     topic,
		Partition: partition,
		MaxWait:   50 * time.Millisecond,
	})
	defer r.Close()

	ctx := testContext(t)
	msgs := make([]kafka.Message, 0, n)
	for len(msgs) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %s[%d] after %d of %d messages: %v", topic, partition, len(msgs), n, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// partitionSizes returns the high watermark of every partition of topic.
func partitionSizes(k *Kafka, topic string) []int64 {
	var sizes []int64
	for _, p := range k.Cluster().PartitionInfos(topic) {
		sizes = append(sizes, p.HighWatermark)
	}
	return sizes
}

func TestKafkaWriteAndReadBack(t *testing.T) {
	const partitions = 4
	k := KafkaForTest(t, []string{"orders"}, partitions)

	w := newWriter(k.Addr(), "orders")
	defer w.Close()
	var sent []kafka.Message
	for i := range 40 {
		sent = append(sent, kafka.Message{
			Key:   fmt.Appendf(nil, "session-%d", i%10),
			Value: fmt.Appendf(nil, "value-%d", i),
		})
	}
	writeMessages(t, w, sent...)

	balancer := &kafka.Murmur2Balancer{}
	all := []int{0, 1, 2, 3}
	want := make(map[int][]string)
	for _, m := range sent {
		p := balancer.Balance(m, all...)
		want[p] = append(want[p], string(m.Value))
	}
	sizes := partitionSizes(k, "orders")
	for p := range partitions {
		if sizes[p] != int64(len(want[p])) {
			t.Fatalf("partition %d holds %d records, expected %d (murmur2 of the key)", p, sizes[p], len(want[p]))
		}
		var got []string
		for _, m := range readPartition(t, k.Addr(), "orders", p, len(want[p])) {
			got = append(got, string(m.Value))
		}
		if !slices.Equal(got, want[p]) {
			t.Errorf("partition %d: read %q, expected %q", p, got, want[p])
		}
	}
}

func TestKafkaLargeRecord(t *testing.T) {
	k := KafkaForTest(t, []string{"large"}, 1)

	w := newWriter(k.Addr(), "large")
	w.BatchBytes = 4 << 20 // kafka-go rejects batches over 1 MiB by default
	defer w.Close()
	value := bytes.Repeat([]byte("x"), 1100<<10)
	writeMessages(t, w, kafka.Message{Key: []byte("k"), Value: value})

	got := readPartition(t, k.Addr(), "large", 0, 1)
	if !bytes.Equal(got[0].Value, value) {
		t.Fatalf("read a value of %d bytes, expected %d", len(got[0].Value), len(value))
	}
}

func TestKafkaRejectsRecordOverMax(t *testing.T) {
	k, err := StartKafka(KafkaOptions{Addr: "127.0.0.1:0", Topics: []string{"small"}, Partitions: 1, MaxMessageBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()

	w := newWriter(k.Addr(), "small")
	w.MaxAttempts = 1
	defer w.Close()
	err = w.WriteMessages(testContext(t), kafka.Message{Value: bytes.Repeat([]byte("x"), 100<<10)})

	// WriteErrors has no Unwrap, so errors.Is does not look inside it.
	var werrs kafka.WriteErrors
	if !errors.As(err, &werrs) || len(werrs) != 1 {
		t.Fatalf("write of 100 KiB with a 64 KiB limit: error %v, expected one kafka.WriteErrors entry", err)
	}
	if !errors.Is(werrs[0], kafka.MessageSizeTooLarge) {
		t.Errorf("write error is %v, expected %v", werrs[0], kafka.MessageSizeTooLarge)
	}
}

// sortedRange is kafka-go's range balancer over partitions sorted by topic
// and id. kafka-go's balancers assign partitions in the order of the
// metadata response, and kfake lists them in Go map order, so without the
// sort a member can get partitions 1 and 2 of one topic but 0 and 3 of
// another.
type sortedRange struct{ kafka.RangeGroupBalancer }

func (b sortedRange) AssignGroups(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	partitions = slices.Clone(partitions)
	slices.SortFunc(partitions, func(x, y kafka.Partition) int {
		return cmp.Or(strings.Compare(x.Topic, y.Topic), cmp.Compare(x.ID, y.ID))
	})
	return b.RangeGroupBalancer.AssignGroups(members, partitions)
}

func newConsumerGroup(t *testing.T, addr, id string, topics []string) *kafka.ConsumerGroup {
	t.Helper()
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                id,
		Brokers:           []string{addr},
		Topics:            topics,
		GroupBalancers:    []kafka.GroupBalancer{sortedRange{}},
		HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout:    2 * time.Second,
		RebalanceTimeout:  5 * time.Second,
		JoinGroupBackoff:  100 * time.Millisecond,
		StartOffset:       kafka.FirstOffset,
	})
	if err != nil {
		t.Fatalf("new consumer group %q: %v", id, err)
	}
	t.Cleanup(func() { cg.Close() })
	return cg
}

// assigned returns the sorted partitions of topic in gen and the committed
// offset of each, keyed by partition.
func assigned(gen *kafka.Generation, topic string) ([]int, map[int]int64) {
	var ids []int
	offsets := make(map[int]int64)
	for _, a := range gen.Assignments[topic] {
		ids = append(ids, a.ID)
		offsets[a.ID] = a.Offset
	}
	slices.Sort(ids)
	return ids, offsets
}

func TestKafkaConsumerGroupAssignsBothTopics(t *testing.T) {
	topics := []string{"sessions", "events"}
	k := KafkaForTest(t, topics, 4)
	ctx := testContext(t)

	cg := newConsumerGroup(t, k.Addr(), "stage", topics)
	gen, err := cg.Next(ctx)
	if err != nil {
		t.Fatalf("first generation: %v", err)
	}
	for _, topic := range topics {
		ids, offsets := assigned(gen, topic)
		if !slices.Equal(ids, []int{0, 1, 2, 3}) {
			t.Errorf("topic %s: assigned partitions %v, expected [0 1 2 3]", topic, ids)
		}
		if offsets[0] != kafka.FirstOffset {
			t.Errorf("topic %s: offset without a commit is %d, expected StartOffset %d", topic, offsets[0], kafka.FirstOffset)
		}
	}

	if err := gen.CommitOffsets(map[string]map[int]int64{"events": {2: 7}}); err != nil {
		t.Fatalf("commit offsets: %v", err)
	}
	if err := cg.Close(); err != nil {
		t.Fatalf("close consumer group: %v", err)
	}

	again := newConsumerGroup(t, k.Addr(), "stage", topics)
	gen, err = again.Next(ctx)
	if err != nil {
		t.Fatalf("generation after rejoin: %v", err)
	}
	if _, offsets := assigned(gen, "events"); offsets[2] != 7 {
		t.Errorf("events[2] offset after rejoin is %d, expected the committed 7", offsets[2])
	}
}

func TestKafkaConsumerGroupSplitsPartitions(t *testing.T) {
	topics := []string{"sessions", "events"}
	k := KafkaForTest(t, topics, 4)
	ctx := testContext(t)

	first := newConsumerGroup(t, k.Addr(), "stage", topics)
	if _, err := first.Next(ctx); err != nil {
		t.Fatalf("first member, first generation: %v", err)
	}

	second := newConsumerGroup(t, k.Addr(), "stage", topics)
	genFirst, err := first.Next(ctx)
	if err != nil {
		t.Fatalf("first member, generation after the second joined: %v", err)
	}
	genSecond, err := second.Next(ctx)
	if err != nil {
		t.Fatalf("second member, first generation: %v", err)
	}
	if genFirst.ID != genSecond.ID {
		t.Fatalf("members are in generations %d and %d, expected the same", genFirst.ID, genSecond.ID)
	}

	for _, gen := range []*kafka.Generation{genFirst, genSecond} {
		sessions, _ := assigned(gen, "sessions")
		events, _ := assigned(gen, "events")
		if len(sessions) != 2 {
			t.Errorf("member %s owns sessions partitions %v, expected 2 of 4", gen.MemberID, sessions)
		}
		// The range balancer over sorted partitions gives a member the
		// same partition numbers of every topic, which the session stage
		// relies on.
		if !slices.Equal(sessions, events) {
			t.Errorf("member %s owns sessions %v but events %v, expected the same partitions", gen.MemberID, sessions, events)
		}
	}
	a, _ := assigned(genFirst, "sessions")
	b, _ := assigned(genSecond, "sessions")
	union := slices.Sorted(slices.Values(append(a, b...)))
	if !slices.Equal(union, []int{0, 1, 2, 3}) {
		t.Errorf("members own sessions partitions %v and %v, expected each of 0 to 3 exactly once", a, b)
	}

	// Close leaves the group, so the first member takes over everything.
	if err := second.Close(); err != nil {
		t.Fatalf("close second member: %v", err)
	}
	gen, err := first.Next(ctx)
	if err != nil {
		t.Fatalf("first member, generation after the second left: %v", err)
	}
	if sessions, _ := assigned(gen, "sessions"); !slices.Equal(sessions, []int{0, 1, 2, 3}) {
		t.Errorf("after the second member left, the first owns sessions %v, expected [0 1 2 3]", sessions)
	}
}

func TestKafkaRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	opts := KafkaOptions{
		Addr:                   "127.0.0.1:0",
		DataDir:                dir,
		Topics:                 []string{"events", "dlq"},
		Partitions:             3,
		GroupMinSessionTimeout: testGroupMinSessionTimeout,
	}
	k, err := StartKafka(opts)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	w := newWriter(k.Addr(), "events")
	var sent []kafka.Message
	for i := range 30 {
		sent = append(sent, kafka.Message{Key: fmt.Appendf(nil, "s%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	writeMessages(t, w, sent...)
	w.Close()
	before := partitionSizes(k, "events")

	cg := newConsumerGroup(t, k.Addr(), "stage", []string{"events"})
	gen, err := cg.Next(testContext(t))
	if err != nil {
		t.Fatalf("generation: %v", err)
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{"events": {1: 3}}); err != nil {
		t.Fatalf("commit offsets: %v", err)
	}
	cg.Close()
	k.Close()

	// Restart on the same port, as `gridsession dev` does.
	opts.Addr = k.Addr()
	k, err = StartKafka(opts)
	if err != nil {
		t.Fatalf("restart on %s with the same data directory: %v", opts.Addr, err)
	}
	defer k.Close()

	if got := len(k.Cluster().PartitionInfos("dlq")); got != 3 {
		t.Errorf("dlq has %d partitions after restart, expected 3", got)
	}
	after := partitionSizes(k, "events")
	if !slices.Equal(after, before) {
		t.Fatalf("events partition sizes after restart %v, expected %v", after, before)
	}
	var got []string
	for p, n := range after {
		for _, m := range readPartition(t, k.Addr(), "events", p, int(n)) {
			got = append(got, string(m.Value))
		}
	}
	var want []string
	for _, m := range sent {
		want = append(want, string(m.Value))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("read %q after restart, expected %q", got, want)
	}

	cg = newConsumerGroup(t, k.Addr(), "stage", []string{"events"})
	gen, err = cg.Next(testContext(t))
	if err != nil {
		t.Fatalf("generation after restart: %v", err)
	}
	if _, offsets := assigned(gen, "events"); offsets[1] != 3 {
		t.Errorf("events[1] committed offset after restart is %d, expected 3", offsets[1])
	}
}

func TestKafkaRestartWithOtherPartitionCount(t *testing.T) {
	dir := t.TempDir()
	k, err := StartKafka(KafkaOptions{Addr: "127.0.0.1:0", DataDir: dir, Topics: []string{"events"}, Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	k.Close()

	k, err = StartKafka(KafkaOptions{Addr: "127.0.0.1:0", DataDir: dir, Topics: []string{"events"}, Partitions: 5})
	if err == nil {
		k.Close()
		t.Fatal("restart with 5 partitions over a topic of 3 succeeded, expected an error")
	}
	if !strings.Contains(err.Error(), "has 3 partitions, expected 5") {
		t.Errorf("error %q does not name both partition counts", err)
	}
}

func TestEnsureTopicIsIdempotent(t *testing.T) {
	k := KafkaForTest(t, []string{"events"}, 2)

	if err := k.EnsureTopic("events", 2, nil); err != nil {
		t.Fatalf("ensure an existing topic: %v", err)
	}
	if err := k.EnsureTopic("changelog", 2, map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatalf("ensure a new topic: %v", err)
	}
	info := k.Cluster().TopicInfo("changelog")
	if info == nil {
		t.Fatal("changelog topic not found after EnsureTopic")
	}
	if v := info.Configs["cleanup.policy"]; v == nil || *v != "compact" {
		t.Errorf("changelog cleanup.policy is %v, expected compact", v)
	}
}

func TestStartKafkaListensOnAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	k, err := StartKafka(KafkaOptions{Addr: addr})
	if err != nil {
		t.Fatalf("start on %s: %v", addr, err)
	}
	defer k.Close()
	if k.Addr() != addr {
		t.Errorf("Addr is %s, expected %s", k.Addr(), addr)
	}
}

func TestStartKafkaAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	k, err := StartKafka(KafkaOptions{Addr: ln.Addr().String()})
	if err == nil {
		k.Close()
		t.Fatalf("start on the taken address %s succeeded, expected an error", ln.Addr())
	}
}

func TestStartKafkaRejectsUnspecifiedHost(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0", "127.0.0.1"} {
		k, err := StartKafka(KafkaOptions{Addr: addr})
		if err == nil {
			k.Close()
			t.Errorf("start on %q succeeded, expected an error", addr)
		}
	}
}

func TestKafkaCloseTwice(t *testing.T) {
	k := KafkaForTest(t, nil, 0)
	k.Close()
	k.Close()
}

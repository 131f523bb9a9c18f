package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/embedded"
)

const testPartitions = 8

// javaMurmur2 lists keys with the hash that the Java client's
// Utils.murmur2 returns for their UTF-8 bytes. The first six are the cases
// of Kafka's UtilsTest.testMurmur2. The session ids were hashed with a
// separate Python port of the Java function, checked against those six.
var javaMurmur2 = []struct {
	key  string
	hash int32
}{
	{"21", -973932308},
	{"foobar", -790332482},
	{"a-little-bit-long-string", -985981536},
	{"a-little-bit-longer-string", -1486304829},
	{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
	{"abc", 479470107},
	{"72d76fde-8bb3-4e00-8c23-a032dfed738c", 115408282},
	{"4adb70bb-edbd-4981-b60f-a05bfd32683a", 1343140303},
	{"26dd6e6e-4dac-4778-8d2c-92e149dab885", 843210684},
}

// javaPartition is the Java client's default partitioner for a keyed
// record: Utils.toPositive(murmur2(key)) % numPartitions.
func javaPartition(hash int32, partitions int) int {
	return int(uint32(hash)&0x7fffffff) % partitions
}

// fetched is one record read back from the broker.
type fetched struct {
	partition int
	offset    int64
	key       string
	value     []byte
}

// fetchAll reads every record of topic, partition by partition.
func fetchAll(t *testing.T, addr, topic string) []fetched {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(addr)}

	var records []fetched
	for p := 0; p < testPartitions; p++ {
		offset := int64(0)
		for {
			res, err := client.Fetch(ctx, &kafka.FetchRequest{
				Topic: topic, Partition: p, Offset: offset,
				MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 50 * time.Millisecond,
			})
			if err != nil {
				t.Fatalf("fetch %s/%d at %d: %v", topic, p, offset, err)
			}
			if res.Error != nil {
				t.Fatalf("fetch %s/%d at %d: %v", topic, p, offset, res.Error)
			}
			if offset >= res.HighWatermark {
				break
			}
			for {
				rec, err := res.Records.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("read %s/%d: %v", topic, p, err)
				}
				key, _ := io.ReadAll(rec.Key)
				value, _ := io.ReadAll(rec.Value)
				records = append(records, fetched{partition: p, offset: rec.Offset, key: string(key), value: value})
				offset = rec.Offset + 1
			}
		}
	}
	return records
}

func startKafka(t *testing.T, topics ...string) (*ingest.Producer, string) {
	t.Helper()
	k := embedded.KafkaForTest(t, topics, testPartitions)
	p := ingest.NewProducer([]string{k.Addr()}, zerolog.Nop())
	t.Cleanup(func() { p.Close() })
	return p, k.Addr()
}

func TestProducerPartitionsLikeJava(t *testing.T) {
	topics := ingest.Topics{}
	p, addr := startKafka(t, topics.Sessions(), topics.Events())

	var msgs []kafka.Message
	for _, v := range javaMurmur2 {
		for _, topic := range []string{topics.Sessions(), topics.Events()} {
			msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(v.key), Value: []byte("{}")})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Send(ctx, msgs...); err != nil {
		t.Fatalf("Send: %v", err)
	}

	partitionOf := map[string]map[string]int{}
	for _, topic := range []string{topics.Sessions(), topics.Events()} {
		partitionOf[topic] = map[string]int{}
		for _, r := range fetchAll(t, addr, topic) {
			partitionOf[topic][r.key] = r.partition
		}
	}
	for _, v := range javaMurmur2 {
		want := javaPartition(v.hash, testPartitions)
		for topic, partitions := range partitionOf {
			got, ok := partitions[v.key]
			if !ok {
				t.Errorf("key %q not found in %s", v.key, topic)
				continue
			}
			if got != want {
				t.Errorf("key %q in %s is on partition %d, want %d as the Java client", v.key, topic, got, want)
			}
		}
	}
}

// Kafka's UtilsTest values give partitions 4, 6, 0, 3, 5 and 3 of 8;
// checking them here guards javaPartition itself.
func TestJavaPartitionFormula(t *testing.T) {
	want := []int{4, 6, 0, 3, 5, 3, 2, 7, 4}
	for i, v := range javaMurmur2 {
		if got := javaPartition(v.hash, testPartitions); got != want[i] {
			t.Errorf("javaPartition(%q) = %d, want %d", v.key, got, want[i])
		}
	}
}

func TestProducerKeepsOrderAcrossLargeMessages(t *testing.T) {
	topics := ingest.Topics{}
	p, addr := startKafka(t, topics.Events())

	// 1.1 MiB is above Kafka's default message.max.bytes and below the
	// embedded broker's limit.
	large := bytes.Repeat([]byte("x"), 1100<<10)
	key := []byte("72d76fde-8bb3-4e00-8c23-a032dfed738c")
	var msgs []kafka.Message
	for i := range 6 {
		value := []byte(fmt.Sprintf(`{"n":%d}`, i))
		if i == 2 || i == 3 {
			value = append(append([]byte(nil), large...), byte('0'+i))
		}
		msgs = append(msgs, kafka.Message{Topic: topics.Events(), Key: key, Value: value})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Send(ctx, msgs...); err != nil {
		t.Fatalf("Send: %v", err)
	}

	records := fetchAll(t, addr, topics.Events())
	if len(records) != len(msgs) {
		t.Fatalf("read %d records, want %d", len(records), len(msgs))
	}
	for i, r := range records {
		if !bytes.Equal(r.value, msgs[i].Value) {
			t.Errorf("record at offset %d has %d bytes starting %.10q, want message %d", r.offset, len(r.value), r.value, i)
		}
	}
}

func TestProducerSendsManyMessages(t *testing.T) {
	topics := ingest.Topics{}
	p, addr := startKafka(t, topics.Events())

	const senders, perSender = 4, 2500
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs := make([]kafka.Message, perSender)
			for i := range msgs {
				msgs[i] = kafka.Message{
					Topic: topics.Events(),
					Key:   []byte(fmt.Sprintf("session-%d", i%100)),
					Value: []byte(fmt.Sprintf(`{"sender":%d,"n":%d}`, s, i)),
				}
			}
			errs <- p.Send(ctx, msgs...)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	if n := len(fetchAll(t, addr, topics.Events())); n != senders*perSender {
		t.Errorf("read %d records, want %d", n, senders*perSender)
	}
}

func TestProducerUnknownTopic(t *testing.T) {
	topics := ingest.Topics{}
	p, _ := startKafka(t, topics.Events())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.Send(ctx,
		kafka.Message{Topic: topics.Events(), Key: []byte("k"), Value: []byte("{}")},
		kafka.Message{Topic: "gridsession.missing", Key: []byte("k"), Value: []byte("{}")},
	)
	var sendErr *ingest.SendError
	if !errors.As(err, &sendErr) {
		t.Fatalf("err = %v, want a *SendError", err)
	}
	if len(sendErr.Topics) == 0 || sendErr.Failed == 0 || sendErr.Total != 2 {
		t.Errorf("SendError = %+v, want failed messages of 2", sendErr)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("gridsession.missing")) {
		t.Errorf("error %q does not name the missing topic", err)
	}
}

func TestProducerTooLargeMessage(t *testing.T) {
	topics := ingest.Topics{}
	p, addr := startKafka(t, topics.Events(), topics.Sessions())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := kafka.Message{Topic: topics.Sessions(), Key: []byte("k"), Value: []byte(`{"n":1}`)}
	huge := kafka.Message{Topic: topics.Events(), Key: []byte("k"), Value: make([]byte, ingest.MaxMessageBytes+1)}
	after := kafka.Message{Topic: topics.Sessions(), Key: []byte("k"), Value: []byte(`{"n":3}`)}
	err := p.Send(ctx, before, huge, after)

	var sendErr *ingest.SendError
	if !errors.As(err, &sendErr) {
		t.Fatalf("err = %v, want a *SendError", err)
	}
	if !errors.Is(err, kafka.MessageSizeTooLarge) {
		t.Errorf("err = %v, want kafka.MessageSizeTooLarge", err)
	}
	if sendErr.Failed != 2 || sendErr.Total != 3 {
		t.Errorf("SendError counts %d of %d failed, want 2 of 3: the huge message and the one after it", sendErr.Failed, sendErr.Total)
	}
	wantTopics := []string{topics.Events(), topics.Sessions()}
	if len(sendErr.Topics) != 2 || sendErr.Topics[0] != wantTopics[0] || sendErr.Topics[1] != wantTopics[1] {
		t.Errorf("SendError topics = %v, want %v", sendErr.Topics, wantTopics)
	}

	stored := fetchAll(t, addr, topics.Sessions())
	if len(stored) != 1 || !bytes.Equal(stored[0].value, before.Value) {
		t.Errorf("stored %d records in %s, want only the message before the huge one", len(stored), topics.Sessions())
	}
}

func TestProducerClose(t *testing.T) {
	topics := ingest.Topics{}
	p, _ := startKafka(t, topics.Events())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg := kafka.Message{Topic: topics.Events(), Key: []byte("k"), Value: []byte("{}")}
	if err := p.Send(ctx, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := p.Send(ctx, msg); !errors.Is(err, ingest.ErrProducerClosed) {
		t.Errorf("Send after Close: err = %v, want ErrProducerClosed", err)
	}
}

func TestProducerNoBrokers(t *testing.T) {
	p := ingest.NewProducer(nil, zerolog.Nop())
	defer p.Close()

	err := p.Send(context.Background(), kafka.Message{Topic: "t", Value: []byte("{}")})
	if !errors.Is(err, ingest.ErrNoBrokers) {
		t.Errorf("err = %v, want ErrNoBrokers", err)
	}
}

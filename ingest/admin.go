package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"

	"time"

	"github.com/segmentio/kafka-go"
)

// PartitionCount returns the partition count shared by topics, or an error
// naming the topic that is missing or differs. Co-partitioned topics must
// agree, or a session's records would split across partition numbers.
func PartitionCount(ctx context.Context, brokers []string, topics []string) (int, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return 0, fmt.Errorf("ingest: read metadata from %v: %w", brokers, err)
	}

	count := -1
	for _, t := range resp.Topics {
		if t.Error != nil {
			return 0, fmt.Errorf("ingest: topic %s: %w", t.Name, t.Error)
		}
		n := len(t.Partitions)
		if count >= 0 && n != count {
			return 0, fmt.Errorf("ingest: topic %s has %d partitions but %s has %d; co-partitioned topics need the same count", t.Name, n, topics[0], count)
		}
		count = n
	}
	if count <= 0 {
		return 0, errors.New("ingest: no partitions found for " + fmt.Sprint(topics))
	}
	return count, nil
}

// CreateTopics creates each topic with partitions partitions unless it
// exists already, compacted when compact reports so. A replicas below 1
// takes the broker's default replication factor, which needs Kafka 2.4 or
// later.
func CreateTopics(ctx context.Context, brokers []string, partitions, replicas int, compact func(topic string) bool, topics ...string) error {
	if replicas < 1 {
		replicas = -1
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		tc := kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: replicas}
		if compact != nil && compact(t) {
			tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}}
		}
		req.Topics = append(req.Topics, tc)
	}
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("ingest: create topics on %v: %w", brokers, err)
	}
	for topic, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("ingest: create topic %s: %w", topic, err)
		}
	}
	return nil
}

// CheckBroker dials the brokers within ctx and returns an error naming
// the addresses when none accepts a connection.
func CheckBroker(ctx context.Context, brokers []string) error {
	var errs []error
	for _, b := range brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("ingest: invalid broker address %q: want host:port", b)
		}
		d := net.Dialer{Timeout: 5 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			conn.Close()
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("ingest: no Kafka broker reachable at %v: %w", brokers, errors.Join(errs...))
}

// Lag returns, per topic and partition, how many records the group has not
// committed yet: the end offset minus the committed offset, or the end
// offset when the group has committed nothing there.
func Lag(ctx context.Context, brokers []string, group string, topics []string) (map[string]map[int]int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("ingest: read metadata from %v: %w", brokers, err)
	}

	ends := map[string][]kafka.OffsetRequest{}
	fetch := map[string][]int{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("ingest: topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			ends[t.Name] = append(ends[t.Name], kafka.LastOffsetOf(p.ID))
			fetch[t.Name] = append(fetch[t.Name], p.ID)
		}
	}
	listed, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: ends})
	if err != nil {
		return nil, fmt.Errorf("ingest: list end offsets: %w", err)
	}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: fetch})
	if err != nil {
		return nil, fmt.Errorf("ingest: fetch offsets of group %s: %w", group, err)
	}
	if committed.Error != nil {
		return nil, fmt.Errorf("ingest: fetch offsets of group %s: %w", group, committed.Error)
	}

	done := map[string]map[int]int64{}
	for topic, parts := range committed.Topics {
		done[topic] = map[int]int64{}
		for _, p := range parts {
			if p.Error == nil && p.CommittedOffset >= 0 {
				done[topic][p.Partition] = p.CommittedOffset
			}
		}
	}
	lag := map[string]map[int]int64{}
	for topic, parts := range listed.Topics {
		lag[topic] = map[int]int64{}
		for _, p := range parts {
			if p.Error != nil {
				return nil, fmt.Errorf("ingest: end offset of %s/%d: %w", topic, p.Partition, p.Error)
			}
			lag[topic][p.Partition] = p.LastOffset - done[topic][p.Partition]
		}
	}
	return lag, nil
}

// OffsetAt returns the offset of the first record of topic's partition
// whose timestamp is at or after t, or the end offset when there is none.
func OffsetAt(ctx context.Context, brokers []string, topic string, partition int, t time.Time) (int64, error) {
	offsets, err := StartOffsets(ctx, brokers, []string{topic}, t)
	if err != nil {
		return 0, err
	}
	off, ok := offsets[topic][partition]
	if !ok {
		return 0, fmt.Errorf("ingest: no offset of %s/%d at %s", topic, partition, t.Format(time.RFC3339))
	}
	return off, nil
}

// EndOffsets returns the offset after the last record of every partition of
// topics.
func EndOffsets(ctx context.Context, brokers []string, topics []string) (map[string]map[int]int64, error) {
	return listOffsets(ctx, brokers, topics, kafka.LastOffsetOf)
}

// StartOffsets returns the offset of the first retained record of every
// partition of topics, or of the first record at or after t when t is set.
func StartOffsets(ctx context.Context, brokers []string, topics []string, t time.Time) (map[string]map[int]int64, error) {
	if t.IsZero() {
		return listOffsets(ctx, brokers, topics, kafka.FirstOffsetOf)
	}
	starts, err := listOffsets(ctx, brokers, topics, func(p int) kafka.OffsetRequest { return kafka.TimeOffsetOf(p, t) })
	if err != nil {
		return nil, err
	}
	ends, err := EndOffsets(ctx, brokers, topics)
	if err != nil {
		return nil, err
	}
	for topic, parts := range starts {
		for p, off := range parts {
			if off < 0 {
				parts[p] = ends[topic][p]
			}
		}
	}
	return starts, nil
}

func listOffsets(ctx context.Context, brokers []string, topics []string, request func(partition int) kafka.OffsetRequest) (map[string]map[int]int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("ingest: read metadata from %v: %w", brokers, err)
	}
	req := map[string][]kafka.OffsetRequest{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("ingest: topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			req[t.Name] = append(req[t.Name], request(p.ID))
		}
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return nil, fmt.Errorf("ingest: list offsets: %w", err)
	}
	out := map[string]map[int]int64{}
	for topic, parts := range resp.Topics {
		out[topic] = map[int]int64{}
		for _, p := range parts {
			if p.Error != nil {
				return nil, fmt.Errorf("ingest: offset of %s/%d: %w", topic, p.Partition, p.Error)
			}
			out[topic][p.Partition] = partitionOffset(p)
		}
	}
	return out, nil
}

// partitionOffset picks the offset a ListOffsets response carries: the first
// or last offset, or for a time request the single entry of Offsets, which
// is -1 when no record is at or after the time.
func partitionOffset(p kafka.PartitionOffsets) int64 {
	for off := range p.Offsets {
		return off
	}
	if p.FirstOffset >= 0 {
		return p.FirstOffset
	}
	return p.LastOffset
}

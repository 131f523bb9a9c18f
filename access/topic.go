package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// kafkaTimeout bounds one admin request to the brokers unless the context
// ends first.
const kafkaTimeout = 10 * time.Second

func newClient(brokers []string) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: kafkaTimeout}
}

// ensureTopic creates topic unless it exists, with one partition,
// cleanup.policy=compact and the broker's default replication factor.
// Compaction keeps the latest record of every key, so the topic holds each
// key once no matter how often it was written.
//
// It must run before a kafka.Reader opens the topic, because kafka-go's
// reader asks the broker to create missing topics, and a broker with
// auto.create.topics.enable would then create it without compaction.
func ensureTopic(ctx context.Context, client *kafka.Client, topic string) error {
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("access: read metadata of topic %s: %w", topic, err)
	}
	for _, t := range meta.Topics {
		if t.Name == topic && t.Error == nil {
			return nil
		}
		if t.Name == topic && !errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			return fmt.Errorf("access: topic %s: %w", topic, t.Error)
		}
	}

	// A replication factor of -1 selects the broker's
	// default.replication.factor, which Kafka supports since 2.4.
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic:             topic,
		NumPartitions:     1,
		ReplicationFactor: -1,
		ConfigEntries:     []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}},
	}}})
	if err != nil {
		return fmt.Errorf("access: create topic %s: %w", topic, err)
	}
	if err := resp.Errors[topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("access: create topic %s: %w", topic, err)
	}
	return nil
}

// checkCompacted returns an error when the cleanup.policy of topic does not
// include compact. On such a topic the broker deletes records after the
// retention time, and every worker that starts later loses those keys.
func checkCompacted(ctx context.Context, client *kafka.Client, topic string) error {
	resp, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic,
		ResourceName: topic,
		ConfigNames:  []string{"cleanup.policy"},
	}}})
	if err != nil {
		return fmt.Errorf("access: describe configs of topic %s: %w", topic, err)
	}
	for _, res := range resp.Resources {
		if res.Error != nil {
			return fmt.Errorf("access: describe configs of topic %s: %w", topic, res.Error)
		}
		for _, e := range res.ConfigEntries {
			if e.ConfigName == "cleanup.policy" && !slices.Contains(strings.Split(e.ConfigValue, ","), "compact") {
				return fmt.Errorf("access: topic %s has cleanup.policy=%s, expected compact; the broker deletes access keys after the retention time", topic, e.ConfigValue)
			}
		}
	}
	return nil
}

// partitionRange is one partition of the access-keys topic and the offsets
// that Start found: the first retained offset and the end offset, which is
// the offset of the next record to be written.
type partitionRange struct {
	id    int
	first int64
	end   int64
}

// partitionRanges lists the partitions of topic with their offsets. It
// requests the first and the end offsets separately, because a broker may
// reject a request that names one partition twice.
func partitionRanges(ctx context.Context, client *kafka.Client, topic string) ([]partitionRange, error) {
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("access: read metadata of topic %s: %w", topic, err)
	}
	var firsts, ends []kafka.OffsetRequest
	for _, t := range meta.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("access: topic %s: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			firsts = append(firsts, kafka.FirstOffsetOf(p.ID))
			ends = append(ends, kafka.LastOffsetOf(p.ID))
		}
	}
	if len(ends) == 0 {
		return nil, fmt.Errorf("access: topic %s has no partitions", topic)
	}

	first, err := listOffsets(ctx, client, topic, firsts)
	if err != nil {
		return nil, err
	}
	end, err := listOffsets(ctx, client, topic, ends)
	if err != nil {
		return nil, err
	}
	ranges := make([]partitionRange, 0, len(ends))
	for _, req := range ends {
		ranges = append(ranges, partitionRange{id: req.Partition, first: first[req.Partition].FirstOffset, end: end[req.Partition].LastOffset})
	}
	slices.SortFunc(ranges, func(a, b partitionRange) int { return a.id - b.id })
	return ranges, nil
}

func listOffsets(ctx context.Context, client *kafka.Client, topic string, reqs []kafka.OffsetRequest) (map[int]kafka.PartitionOffsets, error) {
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("access: list offsets of topic %s: %w", topic, err)
	}
	byID := map[int]kafka.PartitionOffsets{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("access: list offsets of %s/%d: %w", topic, p.Partition, p.Error)
		}
		byID[p.Partition] = p
	}
	for _, req := range reqs {
		if _, ok := byID[req.Partition]; !ok {
			return nil, fmt.Errorf("access: list offsets of %s/%d: missing from the broker response", topic, req.Partition)
		}
	}
	return byID, nil
}

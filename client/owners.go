package client

import (
	"context"
	"sync"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
)

// owners finds the partition that owns a session or a space, as the
// workers and producers do: murmur2 of the Kafka key modulo the partition
// count of the stage's input topic. It reads the partition counts from
// Kafka on first use and again after forget.
type owners struct {
	brokers []string
	topics  ingest.Topics

	mu sync.Mutex
	// sessionPartitions lists 0 to the partition count of the events topic
	// minus one, or is nil when not read yet.
	sessionPartitions []int
	// spacePartitions is the same for the space-updates topic.
	spacePartitions []int
}

// session returns the session-stage partition of sessionID.
func (o *owners) session(ctx context.Context, sessionID string) (int, error) {
	partitions, err := o.list(ctx, &o.sessionPartitions, o.topics.Events())
	if err != nil {
		return 0, err
	}
	return partitionOf([]byte(sessionID), partitions), nil
}

// space returns the space-stage partition of a space of tenant.
func (o *owners) space(ctx context.Context, tenant, spaceID string) (int, error) {
	partitions, err := o.list(ctx, &o.spacePartitions, o.topics.SpaceUpdates())
	if err != nil {
		return 0, err
	}
	return partitionOf([]byte(ingest.SpaceKey(tenant, spaceID)), partitions), nil
}

// forget drops the partition counts, so that the next lookup reads them
// again. A worker responds with code 421 to a request for a partition it
// does not own, which may mean that partitions were added to the topics.
func (o *owners) forget() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sessionPartitions, o.spacePartitions = nil, nil
}

// list returns *cached, reading the partition count of topic first when
// *cached is nil.
func (o *owners) list(ctx context.Context, cached *[]int, topic string) ([]int, error) {
	o.mu.Lock()
	partitions := *cached
	o.mu.Unlock()
	if partitions != nil {
		return partitions, nil
	}

	n, err := ingest.PartitionCount(ctx, o.brokers, []string{topic})
	if err != nil {
		return nil, &partitionCountError{err: err}
	}
	partitions = make([]int, n)
	for i := range partitions {
		partitions[i] = i
	}
	o.mu.Lock()
	*cached = partitions
	o.mu.Unlock()
	return partitions, nil
}

// partitionOf picks the partition of key with kafka-go's murmur2 balancer,
// the partitioner that producers must use. The key is never nil, so the
// balancer never falls back to a random partition.
func partitionOf(key []byte, partitions []int) int {
	if key == nil {
		key = []byte{}
	}
	return kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: key}, partitions...)
}

// partitionCountError reports a failed read of a partition count. Gets
// retry after it, because the brokers may be restarting.
type partitionCountError struct{ err error }

func (e *partitionCountError) Error() string {
	return "client: read partition count: " + e.err.Error()
}

func (e *partitionCountError) Unwrap() error { return e.err }

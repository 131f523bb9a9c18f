package ops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// Defaults of LagOptions.
const (
	DefaultLagInterval = 5 * time.Second
	DefaultLagTimeout  = 5 * time.Second
)

// LagOptions configures PollLag.
type LagOptions struct {
	// Brokers are the Kafka bootstrap brokers, host:port.
	Brokers []string
	// Interval is the time between two reads of the end offsets. The
	// default is DefaultLagInterval.
	Interval time.Duration
	// Timeout bounds one read. The default is DefaultLagTimeout.
	Timeout time.Duration
	// Log receives failed reads, at most one line a minute.
	Log zerolog.Logger
}

// PollLag reads the end offsets of the owned partitions from Kafka every
// interval and sets gridsession_consumer_lag_records from them, until ctx
// ends. The lag of a partition is its end offset minus the offset after the
// last one the worker applied, as reported by the processor's hooks. It
// never uses the consumer group's committed offsets, which can trail the
// applied ones after a crash.
//
// A partition has no lag series until its applied offset is known, except
// when it is empty (end offset 0), where the lag is 0. Between two reads,
// every committed batch lowers the lag from the last end offset read.
func (m *Metrics) PollLag(ctx context.Context, opts LagOptions) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultLagInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultLagTimeout
	}
	log := opts.Log.Sample(&zerolog.BurstSampler{Burst: 1, Period: time.Minute})
	client := &kafka.Client{Addr: kafka.TCP(opts.Brokers...), Timeout: opts.Timeout}

	ticker := time.NewTicker(opts.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		readCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
		err := m.readEndOffsets(readCtx, client)
		cancel()
		if err != nil && ctx.Err() == nil {
			m.lagErrors.Inc()
			log.Warn().Err(err).Strs("brokers", opts.Brokers).Msg("read end offsets for the consumer lag failed")
		}
	}
}

// readEndOffsets reads the end offsets of every owned partition in one
// request and updates their lag.
func (m *Metrics) readEndOffsets(ctx context.Context, client *kafka.Client) error {
	req := m.endOffsetRequest()
	if len(req.Topics) == 0 {
		return nil
	}
	resp, err := client.ListOffsets(ctx, req)
	if err != nil {
		return fmt.Errorf("ops: list end offsets: %w", err)
	}

	var errs []error
	ends := map[topicPartition]int64{}
	for topic, parts := range resp.Topics {
		for _, p := range parts {
			if p.Error != nil {
				errs = append(errs, fmt.Errorf("ops: end offset of %s/%d: %w", topic, p.Partition, p.Error))
				continue
			}
			ends[topicPartition{topic, p.Partition}] = p.LastOffset
		}
	}
	m.setEndOffsets(ends)
	return errors.Join(errs...)
}

// endOffsetRequest returns a request for the end offsets of the input
// topics of every owned partition.
func (m *Metrics) endOffsetRequest() *kafka.ListOffsetsRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for key := range m.ownedBy {
		for _, topic := range m.stageTopics[key.stage] {
			req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(key.partition))
		}
	}
	return req
}

// setEndOffsets stores the end offsets of partitions still owned and
// updates their lag.
func (m *Metrics) setEndOffsets(ends map[topicPartition]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for tp, end := range ends {
		stage, ok := m.topicStage[tp.topic]
		if !ok {
			continue
		}
		if _, owned := m.ownedBy[stagePartition{stage, tp.partition}]; !owned {
			continue // revoked while the request was out
		}
		m.endOffsets[tp] = end
		m.updateLagLocked(tp)
	}
}

// updateLagLocked sets the lag of tp from its end offset and the last
// offset applied. The lag is clamped at 0 because the end offset may have
// been read before the worker applied records written after it.
func (m *Metrics) updateLagLocked(tp topicPartition) {
	end, ok := m.endOffsets[tp]
	if !ok {
		return
	}
	next := int64(0) // the offset of the next record to apply
	if applied, ok := m.appliedOffsets[tp]; ok {
		next = applied + 1
	} else if end > 0 {
		return // unknown until a batch or a resume reports the offset
	}
	stage := m.topicStage[tp.topic]
	m.lag.WithLabelValues(stage, tp.topic, strconv.Itoa(tp.partition)).Set(float64(max(end-next, 0)))
}

func (m *Metrics) onAssigned(stage string, partition, generation int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ownedBy[stagePartition{stage, partition}] = generation
	m.setOwnedLocked(stage)
}

// onRevoked removes the offsets and lag series of the partition, unless it
// was assigned again in a later generation meanwhile.
func (m *Metrics) onRevoked(stage string, partition, generation int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := stagePartition{stage, partition}
	if g, ok := m.ownedBy[key]; !ok || g != generation {
		return
	}
	delete(m.ownedBy, key)
	m.setOwnedLocked(stage)
	for _, topic := range m.stageTopics[stage] {
		tp := topicPartition{topic, partition}
		delete(m.appliedOffsets, tp)
		delete(m.endOffsets, tp)
		m.lag.DeleteLabelValues(stage, topic, strconv.Itoa(partition))
	}
}

// onResumed records the offsets a partition loop continues after.
func (m *Metrics) onResumed(stage string, partition int, applied map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, topic := range m.stageTopics[stage] {
		offset, ok := applied[topic]
		if !ok {
			continue
		}
		tp := topicPartition{topic, partition}
		m.appliedOffsets[tp] = offset
		m.updateLagLocked(tp)
	}
}

func (m *Metrics) setOwnedLocked(stage string) {
	n := 0
	for key := range m.ownedBy {
		if key.stage == stage {
			n++
		}
	}
	m.owned.WithLabelValues(stage).Set(float64(n))
}

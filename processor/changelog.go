package processor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/statestore"
)

// Each committed batch writes to its stage's changelog, in partition N for
// stage partition N. It writes one record per changed row, keyed by tenant,
// table and id, with the row as stored as its value. Then it writes one
// marker record whose value is the applied source offsets after the batch.
// Every record also carries those offsets in a header. The topic is compacted, so it keeps
// the latest value of each row and the latest marker.
//
// A restore applies the rows in log order and takes its offsets from the
// last marker. Rows after the last marker belong to a batch that may not
// have committed, so they are dropped: the batch is folded again from the
// input topics, which writes them again.

// markerKey is the key of marker records. Row keys start with a tenant id,
// which is never empty and never contains a 0x00 byte.
var markerKey = []byte("\x00offsets")

// HeaderOffsets is the changelog header with the source offsets, as JSON.
const HeaderOffsets = "gridsession-offsets"

// restoreChunk is how many rows a restore commits to Pebble at once.
const restoreChunk = 1000

func rowKey(e entry) []byte {
	return []byte(e.tenant + refSeparator + e.table + refSeparator + e.id)
}

func parseRowKey(key []byte) (entry, bool) {
	parts := strings.Split(string(key), refSeparator)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return entry{}, false
	}
	return entry{tenant: parts[0], table: parts[1], id: parts[2]}, true
}

// changelogMessages returns the changelog records of a batch whose source
// offsets after it are the partition's applied offsets updated by batch.
func (p *partition) changelogMessages(ch changes, batch map[string]int64) []kafka.Message {
	offsets := maps.Clone(p.applied)
	if offsets == nil {
		offsets = map[string]int64{}
	}
	maps.Copy(offsets, batch)
	encoded, _ := json.Marshal(offsets) // a map of strings to numbers always encodes
	header := []kafka.Header{{Key: HeaderOffsets, Value: encoded}}

	topic := p.stage.changelog()
	msgs := make([]kafka.Message, 0, len(ch.entries)+1)
	for _, e := range ch.entries {
		msgs = append(msgs, kafka.Message{Topic: topic, Partition: p.num, Key: rowKey(e), Value: e.value, Headers: header})
	}
	return append(msgs, kafka.Message{Topic: topic, Partition: p.num, Key: markerKey, Value: encoded, Headers: header})
}

// restore fills the empty store from the changelog and returns the offsets
// it reflects, or nil when the changelog is empty. It reads in bounded
// chunks, so its memory does not grow with the state. When ctx ends first
// it returns ctx's error and leaves the store without offsets, so the next
// owner restores again.
func (p *partition) restore(ctx context.Context) (map[string]int64, error) {
	topic := p.stage.changelog()
	end, err := endOffset(ctx, p.w.cfg.Brokers, topic, p.num)
	if err != nil || end == 0 {
		return nil, err
	}

	started := time.Now()
	p.w.cfg.Hooks.restoreStart(p.stage.name(), p.num)
	defer p.w.cfg.Hooks.restoreDone(p.stage.name(), p.num)
	p.log.Info().Str("changelog", topic).Int64("end_offset", end).Msg("restoring partition from the changelog")

	r, err := ingest.NewBacklogReader(p.w.cfg.Brokers, topic, p.num, p.log)
	if err != nil {
		return nil, err
	}
	defer r.Close()

	var pending []kafka.Message
	var offsets map[string]int64
	rows := 0
	b := p.store.NewBatch()
	defer func() { b.Close() }()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return nil, fmt.Errorf("processor: read changelog %s/%d: %w", topic, p.num, err)
		}
		if bytes.Equal(m.Key, markerKey) {
			var next map[string]int64
			if err := json.Unmarshal(m.Value, &next); err != nil {
				return nil, fmt.Errorf("processor: invalid changelog marker at %s/%d@%d: %w", topic, p.num, m.Offset, err)
			}
			for _, row := range pending {
				if err := p.restoreRow(b, row); err != nil {
					return nil, err
				}
				rows++
				if b.Len() >= restoreChunk {
					if err := b.Commit(); err != nil {
						return nil, err
					}
					b = p.store.NewBatch()
				}
			}
			pending, offsets = pending[:0], next
		} else {
			pending = append(pending, m)
		}
		if m.Offset >= end-1 {
			break
		}
	}

	for topic, off := range offsets {
		b.SetOffset(topic, off)
	}
	if err := b.Commit(); err != nil {
		return nil, err
	}
	p.log.Info().Int("rows", rows).Int("dropped", len(pending)).Dur("took", time.Since(started)).Interface("offsets", offsets).Msg("partition restored")
	return offsets, nil
}

// restoreRow writes one changelog row and the timer its state needs.
func (p *partition) restoreRow(b *statestore.Batch, m kafka.Message) error {
	e, ok := parseRowKey(m.Key)
	if !ok {
		p.log.Warn().Int64("offset", m.Offset).Msg("changelog record with an invalid key skipped")
		return nil
	}
	if m.Value == nil {
		b.Delete(e.tenant, e.table, e.id)
		return nil
	}
	b.Put(e.tenant, e.table, e.id, m.Value)
	at, err := timerOf(e.table, m.Value)
	if err != nil {
		return fmt.Errorf("processor: changelog row %s/%s/%s: %w", e.tenant, e.table, e.id, err)
	}
	if at > 0 {
		b.SetTimer(at, stateKey{e.tenant, e.id}.ref())
	}
	return nil
}

// timerOf returns the timer a stored row had registered, or 0.
func timerOf(table string, value []byte) (int64, error) {
	switch table {
	case tableSession:
		s, err := projection.Unmarshal(value)
		if err != nil {
			return 0, err
		}
		return s.TimerAt, nil
	case tableSpace:
		sp, err := projection.UnmarshalSpace(value)
		if err != nil {
			return 0, err
		}
		return sp.TimerAt, nil
	}
	return 0, nil
}

// endOffset returns the offset after the last record of a partition.
func endOffset(ctx context.Context, brokers []string, topic string, partition int) (int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: {kafka.LastOffsetOf(partition)}}})
	if err != nil {
		return 0, fmt.Errorf("processor: end offset of %s/%d: %w", topic, partition, err)
	}
	for _, po := range resp.Topics[topic] {
		if po.Partition == partition {
			if po.Error != nil {
				return 0, fmt.Errorf("processor: end offset of %s/%d: %w", topic, partition, po.Error)
			}
			return po.LastOffset, nil
		}
	}
	return 0, errors.New("processor: no end offset for " + topic)
}

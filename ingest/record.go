package ingest

import (
	"time"

	"github.com/segmentio/kafka-go"
)

// Record is one Kafka record with its source coordinates.
type Record struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []kafka.Header
	// Time is the record timestamp that Kafka stored.
	Time time.Time
}

func fromMessage(m kafka.Message) Record {
	return Record{
		Topic:     m.Topic,
		Partition: m.Partition,
		Offset:    m.Offset,
		Key:       m.Key,
		Value:     m.Value,
		Headers:   m.Headers,
		Time:      m.Time,
	}
}

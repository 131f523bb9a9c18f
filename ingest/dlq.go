package ingest

import (
	"context"
	"strconv"

	"github.com/segmentio/kafka-go"
)

// Dead-letter header names. The value of a dead-letter record is the
// rejected record's value, cut to MaxDeadLetterBytes.
const (
	HeaderReason          = "gridsession-reason"
	HeaderError           = "gridsession-error"
	HeaderField           = "gridsession-field"
	HeaderSourceTopic     = "gridsession-source-topic"
	HeaderSourcePartition = "gridsession-source-partition"
	HeaderSourceOffset    = "gridsession-source-offset"
	HeaderOriginalSize    = "gridsession-original-size"
	HeaderOriginalKeySize = "gridsession-original-key-size"
)

// Bounds of what a dead-letter record copies from the rejected record, so
// that an oversized key, value or error cannot exceed the broker's message
// size limit there too.
const (
	MaxDeadLetterBytes    = 64 << 10
	MaxDeadLetterKeyBytes = 1 << 10
	maxErrorHeaderBytes   = 4 << 10
)

// Rejection is a record that failed decoding or validation.
type Rejection struct {
	Record Record
	// Reason is a short code such as invalid_field.
	Reason string
	// Field names the offending field, or is empty.
	Field string
	Err   error
}

// DeadLetter builds the dead-letter message for a rejection.
func (t Topics) DeadLetter(r Rejection) kafka.Message {
	value := r.Record.Value
	if len(value) > MaxDeadLetterBytes {
		value = value[:MaxDeadLetterBytes]
	}
	key := r.Record.Key
	if len(key) > MaxDeadLetterKeyBytes {
		key = key[:MaxDeadLetterKeyBytes]
	}
	errText := ""
	if r.Err != nil {
		errText = r.Err.Error()
	}
	if len(errText) > maxErrorHeaderBytes {
		errText = errText[:maxErrorHeaderBytes]
	}
	return kafka.Message{
		Topic: t.DLQ(),
		Key:   key,
		Value: value,
		Headers: []kafka.Header{
			{Key: HeaderReason, Value: []byte(r.Reason)},
			{Key: HeaderError, Value: []byte(errText)},
			{Key: HeaderField, Value: []byte(r.Field)},
			{Key: HeaderSourceTopic, Value: []byte(r.Record.Topic)},
			{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(r.Record.Partition))},
			{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(r.Record.Offset, 10))},
			{Key: HeaderOriginalSize, Value: []byte(strconv.Itoa(len(r.Record.Value)))},
			{Key: HeaderOriginalKeySize, Value: []byte(strconv.Itoa(len(r.Record.Key)))},
		},
	}
}

// SendDeadLetters writes rejections to the dead-letter topic and waits for
// Kafka to acknowledge them.
func (p *Producer) SendDeadLetters(ctx context.Context, topics Topics, rejections []Rejection) error {
	if len(rejections) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, len(rejections))
	for i, r := range rejections {
		msgs[i] = topics.DeadLetter(r)
	}
	return p.Send(ctx, msgs...)
}

package rees46

import (
	"context"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
)

// loadBatch is how many records Load hands to the producer at once.
const loadBatch = 2000

// LoadOptions configures Load.
type LoadOptions struct {
	Brokers []string
	Topics  ingest.Topics
	Scan    Options
	// Progress, when not nil, receives the rows done and the rows in all
	// files.
	Progress func(done, total int)
}

// Load produces the records of the files to Kafka with the murmur2
// partitioner and returns what Scan read and emitted. It returns once Kafka
// acknowledged every record, or with the first error.
//
// Records keep the broker's timestamp (the time they are sent) rather than
// the rows' event times: a historical timestamp would let a broker's
// time-based retention delete them at once.
func Load(ctx context.Context, paths []string, opts LoadOptions, log zerolog.Logger) (Summary, error) {
	total, err := CountRows(paths)
	if err != nil {
		return Summary{}, err
	}
	producer := ingest.NewProducer(opts.Brokers, log)
	defer producer.Close()

	topicOf := map[Kind]string{
		KindClient:  opts.Topics.Clients(),
		KindSession: opts.Topics.Sessions(),
		KindEvent:   opts.Topics.Events(),
	}
	var pending []kafka.Message
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := producer.Send(ctx, pending...)
		pending = pending[:0]
		return err
	}
	emit := func(r Record) error {
		pending = append(pending, kafka.Message{Topic: topicOf[r.Kind], Key: []byte(r.Key), Value: r.Value})
		if len(pending) >= loadBatch {
			return flush()
		}
		return nil
	}
	progress := func(done int) {
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
	}

	summary, err := Scan(ctx, paths, opts.Scan, emit, progress)
	if err != nil {
		return summary, err
	}
	return summary, flush()
}

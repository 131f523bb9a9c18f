package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/rees46"
)

// loadBatch is how many records load hands to the producer at once.
const loadBatch = 2000

// loadOptions are the settings of one load.
type loadOptions struct {
	brokers []string
	topics  ingest.Topics
	scan    rees46.Options
	// progress receives rows done and the total; nil shows nothing.
	progress func(done, total int)
}

// loadFiles produces the records of the REES46 files to Kafka and returns
// what it read and sent. It is the code path of the load command.
func loadFiles(ctx context.Context, paths []string, opts loadOptions, log zerolog.Logger) (rees46.Summary, error) {
	total, err := rees46.CountRows(paths)
	if err != nil {
		return rees46.Summary{}, err
	}
	producer := ingest.NewProducer(opts.brokers, log)
	defer producer.Close()

	topicOf := map[rees46.Kind]string{
		rees46.KindClient:  opts.topics.Clients(),
		rees46.KindSession: opts.topics.Sessions(),
		rees46.KindEvent:   opts.topics.Events(),
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
	emit := func(r rees46.Record) error {
		pending = append(pending, kafka.Message{Topic: topicOf[r.Kind], Key: []byte(r.Key), Value: r.Value, Time: r.Time})
		if len(pending) >= loadBatch {
			return flush()
		}
		return nil
	}
	progress := func(done int) {
		if opts.progress != nil {
			opts.progress(done, total)
		}
	}

	summary, err := rees46.Scan(ctx, paths, opts.scan, emit, progress)
	if err != nil {
		return summary, err
	}
	return summary, flush()
}

func runLoad(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("load", "load [flags] FILE...", stdout)
	brokers := listFlag{defaultKafka}
	fs.Var(&brokers, "kafka", "Kafka bootstrap brokers, comma-separated host:port")
	topicPrefix := fs.String("topic-prefix", ingest.DefaultPrefix, "prefix of the Kafka topic names")
	tenant := fs.String("tenant", rees46.DefaultTenant, "tenantId of every record")
	region := fs.String("region", rees46.DefaultRegion, "dataResidency of every record")
	country := fs.String("country", rees46.DefaultCountry, "country of every client and session")
	rebase := fs.Bool("rebase-time", false, "shift all times so the last row falls on the current time")
	quiet := fs.Bool("quiet", false, "show no progress bar")
	logLevel := fs.String("log-level", "warn", "log level: trace, debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) == 0 {
		return errors.New("no files given: gridsession load FILE.csv...")
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}

	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ingest.CheckBroker(connectCtx, brokers); err != nil {
		return fmt.Errorf("%w (is gridsession dev running?)", err)
	}

	opts := loadOptions{
		brokers: brokers,
		topics:  ingest.Topics{Prefix: *topicPrefix},
		scan:    rees46.Options{Tenant: *tenant, Region: *region, Country: *country},
	}
	if *rebase {
		opts.scan.RebaseTo = time.Now().UTC()
	}
	var bar *progressbar.ProgressBar
	if !*quiet {
		opts.progress = func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionSetDescription("rows"), progressbar.OptionShowCount(),
					progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			_ = bar.Set(done)
		}
	}

	started := time.Now()
	summary, err := loadFiles(ctx, paths, opts, log)
	if bar != nil {
		_ = bar.Finish()
	}
	printSummary(stdout, summary, time.Since(started))
	return err
}

func printSummary(w io.Writer, s rees46.Summary, took time.Duration) {
	records := s.Records[rees46.KindClient] + s.Records[rees46.KindSession] + s.Records[rees46.KindEvent]
	fmt.Fprintf(w, "files %d, rows %d, sessions %d, clients %d\n", s.Files, s.Rows, s.Sessions, s.Clients)
	fmt.Fprintf(w, "records sent %d: %d clients, %d sessions, %d events, in %s\n", records,
		s.Records[rees46.KindClient], s.Records[rees46.KindSession], s.Records[rees46.KindEvent], took.Round(time.Millisecond))
	if s.Shift != 0 {
		fmt.Fprintf(w, "times shifted by %s; last event at %s\n", s.Shift.Round(time.Second), s.MaxTime.Format(time.RFC3339))
	}
	rejected := 0
	reasons := make([]string, 0, len(s.Rejected))
	for r, n := range s.Rejected {
		rejected += n
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	fmt.Fprintf(w, "rows rejected %d\n", rejected)
	for _, r := range reasons {
		fmt.Fprintf(w, "  %-22s %d\n", r, s.Rejected[r])
	}
}

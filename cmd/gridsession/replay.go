package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

func runReplay(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("replay", "replay --data-dir DIR [--from earliest|RFC3339] [flags]", stdout)
	var f workerFlags
	f.register(fs, useReplay)
	from := fs.String("from", "earliest", "where the replay starts: earliest, or an RFC 3339 time such as 2026-12-01T00:00:00Z")
	quiet := fs.Bool("quiet", false, "show no progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	var start time.Time
	if *from != "earliest" {
		t, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return fmt.Errorf("invalid --from %q: want earliest or an RFC 3339 time such as 2026-12-01T00:00:00Z", *from)
		}
		start = t
	}
	if entries, err := os.ReadDir(f.dataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("--data-dir %s is not empty: a replay rebuilds state into a fresh directory", f.dataDir)
	}
	log, err := newLogger(f.logLevel)
	if err != nil {
		return err
	}
	key, err := f.contactKey(false)
	if err != nil {
		return fmt.Errorf("%w (a replay needs the key of the workers that wrote the log; gridsession dev keeps its key in ./data/contact.key)", err)
	}
	lock, err := lockDataDir(f.dataDir)
	if err != nil {
		return err
	}
	defer lock.Close()

	connectCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := ingest.CheckBroker(connectCtx, f.kafka); err != nil {
		return err
	}
	producer := ingest.NewProducer(f.kafka, zerolog.Nop())
	defer producer.Close()

	var bar *progressbar.ProgressBar
	var barMu sync.Mutex
	progress := func(done, total int64) {
		if *quiet {
			return
		}
		barMu.Lock()
		defer barMu.Unlock()
		if bar == nil {
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("records"),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(200*time.Millisecond))
		}
		// Records written during the replay are folded too, so done may
		// pass the total taken at the start.
		_ = bar.Set64(min(done, total))
	}
	summary, runErr := processor.Replay(ctx, replayConfig(&f, key, start, log), producer, progress)
	barMu.Lock()
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(os.Stderr)
	}
	barMu.Unlock()

	rate := float64(summary.Records) / max(summary.Took.Seconds(), 0.001)
	fmt.Fprintf(stdout, "replayed %d records in %s (%.0f records/s) into %s; the log held %d when the replay started\n",
		summary.Records, summary.Took.Round(time.Millisecond), rate, f.dataDir, summary.Total)
	return runErr
}

// replayConfig returns the processor configuration of a replay with the
// flags f, the contact key and the start time.
func replayConfig(f *workerFlags, key []byte, start time.Time, log zerolog.Logger) processor.Config {
	return processor.Config{
		Brokers:    f.kafka,
		Topics:     ingest.Topics{Prefix: f.topicPrefix},
		DataDir:    f.dataDir,
		Validator:  schemas.NewValidator(f.regions...),
		Projection: projection.Config{ContactKey: key, MaxClockSkew: f.maxClockSkew, CartTTL: f.cartTTL, RatingTTL: f.ratingTTL},
		BatchSize:  f.batchSize,
		StartTime:  start,
		Clock:      f.clock.now(),
		Log:        log,
	}
}

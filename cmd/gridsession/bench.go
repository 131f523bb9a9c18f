package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/bench"
	"github.com/gridsession/gridsession/publish"
)

// benchFlags are the flags of the bench command, besides those that set
// bench.Config fields directly.
type benchFlags struct {
	synthetic     bool
	files         bool
	embedded      bool
	brokers       listFlag
	natsURL       string
	topicPrefix   string
	subjectPrefix string
	partitions    int
	workerPID     int
	json          bool
	quiet         bool
	logLevel      string
}

// register adds the bench flags to fs, with those of cfg.
func (f *benchFlags) register(fs *flag.FlagSet, cfg *bench.Config) {
	f.brokers = listFlag{defaultKafka}
	fs.BoolVar(&f.synthetic, "synthetic", false, "send generated sessions shaped like the REES46 samples")
	fs.BoolVar(&f.files, "files", false, "replay the REES46 CSV files given as arguments, again and again, under new session ids")
	fs.BoolVar(&f.embedded, "embedded", false, "start a broker, a NATS server and a worker in this process instead of using running servers")
	fs.Var(&f.brokers, "kafka", "Kafka bootstrap brokers, comma-separated host:port; ignored with --embedded")
	fs.StringVar(&f.natsURL, "nats", defaultNATS, "NATS server URL; ignored with --embedded")
	fs.StringVar(&cfg.Tenant, "tenant", "", "tenantId of every record (default bench- and a random run id, so state starts empty)")
	fs.StringVar(&f.topicPrefix, "topic-prefix", ingest.DefaultPrefix, "prefix of the Kafka topic names")
	fs.StringVar(&f.subjectPrefix, "subject-prefix", publish.DefaultPrefix, "first token of every NATS subject")
	fs.Float64Var(&cfg.Rate, "rate", 1000, "target events per second; 0 sends as fast as Kafka accepts them")
	fs.DurationVar(&cfg.Duration, "duration", bench.DefaultDuration, "how long to send events; 0 means until --events")
	fs.Int64Var(&cfg.MaxEvents, "events", 0, "stop after this many events; 0 means no limit")
	fs.BoolVar(&cfg.StateLatency, "state", false, "also measure the latency from each CART_ADD event to the session's state message")
	fs.IntVar(&cfg.OpenSessions, "open-sessions", bench.DefaultOpenSessions, "synthetic sessions sending events at the same time")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the synthetic generator; 0 picks one, which the summary shows")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", bench.DefaultDrainTimeout, "how long to wait after the last send for events still on their way")
	fs.DurationVar(&cfg.WarmupTimeout, "warmup-timeout", bench.DefaultWarmupTimeout, "how long to wait for the probe events sent to every partition before the run")
	fs.IntVar(&f.partitions, "partitions", 8, "partitions of each topic with --embedded")
	fs.IntVar(&f.workerPID, "worker-pid", 0, "process id of the worker whose peak RSS (VmHWM) to report; not with --embedded")
	fs.BoolVar(&f.json, "json", false, "print the summary as one JSON object")
	fs.BoolVar(&f.quiet, "quiet", false, "print no progress lines")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level: trace, debug, info, warn or error")
}

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench", "bench (--synthetic | --files FILE...) [--embedded] [flags]", stdout)
	var f benchFlags
	var cfg bench.Config
	f.register(fs, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.validate(fs.Args(), cfg); err != nil {
		return err
	}
	log, err := newLogger(f.logLevel)
	if err != nil {
		return err
	}

	cfg.Brokers, cfg.NATSURL = f.brokers, f.natsURL
	cfg.Topics = ingest.Topics{Prefix: f.topicPrefix}
	cfg.Subjects = publish.Subjects{Prefix: f.subjectPrefix}
	cfg.Files = fs.Args()
	cfg.Log = log
	if !f.quiet {
		cfg.Progress = func(p bench.Progress) {
			fmt.Fprintf(os.Stderr, "bench: %5.0fs  sent %d  folded %d\n", p.Elapsed.Seconds(), p.Sent, p.Folded)
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	if f.embedded {
		return runEmbeddedBench(ctx, cfg, f, log, stdout)
	}
	if f.workerPID > 0 {
		// Fail before the run rather than after it.
		if _, err := bench.ProcessMaxRSS(f.workerPID); err != nil {
			return fmt.Errorf("invalid --worker-pid: %w", err)
		}
	}
	return finishBench(ctx, cfg, f, stdout)
}

// runEmbeddedBench runs the bench against a broker, a NATS server and a
// worker that it starts in this process, and stops them afterwards.
func runEmbeddedBench(ctx context.Context, cfg bench.Config, f benchFlags, log zerolog.Logger, stdout io.Writer) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	servers, err := bench.StartEmbedded(bench.EmbeddedOptions{
		Topics:     cfg.Topics,
		Subjects:   cfg.Subjects,
		Partitions: f.partitions,
		OnWorkerError: func(err error) {
			cancel(fmt.Errorf("embedded worker stopped: %w", err))
		},
		Log: log,
	})
	if err != nil {
		return err
	}

	cfg.Brokers, cfg.NATSURL = servers.Brokers(), servers.NATSURL()
	err = finishBench(ctx, cfg, f, stdout)
	if closeErr := servers.Close(); closeErr != nil {
		log.Warn().Err(closeErr).Msg("stopping the embedded servers failed")
	}
	return err
}

// validate checks the flags and names the one at fault. bench.Config
// checks its values again, in its own words.
func (f *benchFlags) validate(paths []string, cfg bench.Config) error {
	switch {
	case f.synthetic == f.files:
		return errors.New("choose one source: --synthetic, or --files FILE...")
	case f.files && len(paths) == 0:
		return errors.New("--files needs at least one CSV file: gridsession bench --files FILE...")
	case f.synthetic && len(paths) > 0:
		return fmt.Errorf("unexpected argument %q: --synthetic takes no files", paths[0])
	case cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0):
		return fmt.Errorf("invalid --rate %v: want events per second, or 0 for as fast as possible", cfg.Rate)
	case cfg.Duration < 0:
		return fmt.Errorf("invalid --duration %s: must not be negative", cfg.Duration)
	case cfg.MaxEvents < 0:
		return fmt.Errorf("invalid --events %d: must not be negative", cfg.MaxEvents)
	case cfg.Duration == 0 && cfg.MaxEvents == 0:
		return errors.New("--duration 0 and no --events: the run would never end; set one of them")
	case cfg.OpenSessions < 1:
		return fmt.Errorf("invalid --open-sessions %d: must be at least 1", cfg.OpenSessions)
	case cfg.DrainTimeout <= 0:
		return fmt.Errorf("invalid --drain-timeout %s: must be positive, such as 1m", cfg.DrainTimeout)
	case cfg.WarmupTimeout <= 0:
		return fmt.Errorf("invalid --warmup-timeout %s: must be positive, such as 1m", cfg.WarmupTimeout)
	case f.embedded && f.workerPID != 0:
		return errors.New("--worker-pid cannot be combined with --embedded: the worker then runs in this process, whose peak RSS is reported")
	case f.workerPID < 0:
		return fmt.Errorf("invalid --worker-pid %d: want a process id", f.workerPID)
	case f.embedded && (f.partitions < 1 || f.partitions > 1024):
		return fmt.Errorf("invalid --partitions %d: want 1 to 1024", f.partitions)
	}
	return nil
}

// finishBench runs the bench, adds the peak RSS and prints the summary. A
// run whose events did not all arrive still prints its summary.
func finishBench(ctx context.Context, cfg bench.Config, f benchFlags, stdout io.Writer) error {
	summary, err := bench.Run(ctx, cfg)
	if err != nil && !errors.Is(err, bench.ErrNotObserved) {
		cause := context.Cause(ctx)
		switch {
		case cause == nil:
			return err
		case errors.Is(cause, context.Canceled):
			return errors.New("interrupted before the run finished; no summary")
		}
		return cause
	}
	addPeakRSS(&summary, f)

	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if encErr := enc.Encode(summary); encErr != nil {
			return encErr
		}
		return err
	}
	if writeErr := summary.WriteText(stdout); writeErr != nil {
		return writeErr
	}
	return err
}

// addPeakRSS sets the summary's peak RSS: that of this process with
// --embedded, of --worker-pid when given, and none otherwise.
func addPeakRSS(s *bench.Summary, f benchFlags) {
	var (
		rss int64
		err error
	)
	switch {
	case f.embedded:
		rss, err = bench.SelfMaxRSS()
		s.RSSOf = "this process (getrusage): the worker with the embedded broker, NATS server and load generator"
	case f.workerPID > 0:
		rss, err = bench.ProcessMaxRSS(f.workerPID)
		s.RSSOf = "worker process " + strconv.Itoa(f.workerPID) + " (VmHWM, since it started)"
	default:
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		s.RSSOf = ""
		return
	}
	s.MaxRSSBytes = rss
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/access"
	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/ops"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// Default addresses, shared by dev, run, load and tail so that they work
// together without flags.
const (
	defaultKafka = "127.0.0.1:9092"
	defaultNATS  = "nats://127.0.0.1:4222"
)

// defaultConnectTimeout is run's --connect-timeout, and the time dev
// waits for its embedded servers.
const defaultConnectTimeout = 30 * time.Second

// defaultDevHTTP is dev's --http. run serves no HTTP unless --http is set,
// because a deployment picks the interface and port of its probes.
const defaultDevHTTP = "127.0.0.1:9464"

// workerFlags are the settings of a worker, shared by dev and run.
type workerFlags struct {
	kafka          listFlag
	nats           string
	dataDir        string
	topicPrefix    string
	subjectPrefix  string
	group          string
	spaceGroup     string
	regions        listFlag
	contactKeyFile string
	maxClockSkew   time.Duration
	cartTTL        time.Duration
	ratingTTL      time.Duration
	batchSize      int
	clock          clockFlag
	logLevel       string
	connectTimeout time.Duration
	// httpAddr is the listen address of /metrics, /healthz and /readyz.
	// An empty one serves no HTTP.
	httpAddr string
	// createTopics and partitions: run creates missing topics when asked.
	createTopics bool
	partitions   int
}

// flagUse names the command that registers the worker flags.
type flagUse int

const (
	// useDev is dev, which starts its own broker and NATS server.
	useDev flagUse = iota
	// useRun is run, a worker against external servers.
	useRun
	// useReplay is replay, which reads Kafka into a fresh directory and
	// publishes nothing, so it has no NATS or consumer group flags.
	useReplay
)

// register adds the flags of the command use to fs.
func (f *workerFlags) register(fs *flag.FlagSet, use flagUse) {
	f.kafka = listFlag{defaultKafka}
	f.nats = defaultNATS
	f.subjectPrefix = publish.DefaultPrefix
	f.group, f.spaceGroup = processor.DefaultGroupID, processor.DefaultSpaceGroupID
	f.connectTimeout = defaultConnectTimeout
	f.regions = listFlag(schemas.DefaultRegions)
	if use != useDev {
		fs.Var(&f.kafka, "kafka", "Kafka bootstrap brokers, comma-separated host:port")
	}
	if use == useRun {
		fs.StringVar(&f.nats, "nats", defaultNATS, "NATS server URL")
	}
	if use == useDev {
		fs.StringVar(&f.dataDir, "data-dir", "./data", "directory of the worker's Pebble state, the embedded broker's log and the generated contact.key")
	} else {
		fs.StringVar(&f.dataDir, "data-dir", "", "directory of the worker's Pebble state (required)")
	}
	fs.StringVar(&f.topicPrefix, "topic-prefix", ingest.DefaultPrefix, "prefix of the Kafka topic names")
	if use != useReplay {
		fs.StringVar(&f.subjectPrefix, "subject-prefix", publish.DefaultPrefix, "first token of every NATS subject")
		fs.StringVar(&f.group, "group", processor.DefaultGroupID, "Kafka consumer group of the session stage")
		fs.StringVar(&f.spaceGroup, "space-group", processor.DefaultSpaceGroupID, "Kafka consumer group of the space stage")
	}
	fs.Var(&f.regions, "regions", "served dataResidency regions, comma-separated; records of other regions are rejected")
	fs.StringVar(&f.contactKeyFile, "contact-key-file", "", "file with the secret key (at least 16 bytes) for hashing contact values; GRIDSESSION_CONTACT_KEY may hold the key itself instead")
	fs.DurationVar(&f.maxClockSkew, "max-clock-skew", 5*time.Minute, "how far an event time may run ahead of its Kafka record timestamp before it is clamped")
	fs.DurationVar(&f.cartTTL, "cart-ttl", projection.DefaultCartTTL, "how long a cart lives after its last change, by event time")
	fs.DurationVar(&f.ratingTTL, "rating-ttl", projection.DefaultRatingTTL, "how long a rating lives after it was given, by event time")
	batchSize := 1000
	if use == useReplay {
		batchSize = processor.DefaultReplayBatchSize
	}
	fs.IntVar(&f.batchSize, "batch-size", batchSize, "maximum records folded per partition batch")
	fs.Var(&f.clock, "clock", "time that expiry uses: wall for the system clock, or an RFC 3339 time to freeze it at, for tests and backfills")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: trace, debug, info, warn or error")
}

func (f *workerFlags) validate() error {
	switch {
	case f.dataDir == "":
		return errors.New("--data-dir must not be empty")
	case f.maxClockSkew <= 0:
		return fmt.Errorf("invalid --max-clock-skew %s: must be positive, such as 5m", f.maxClockSkew)
	case f.cartTTL <= 0:
		return fmt.Errorf("invalid --cart-ttl %s: must be positive, such as 30m", f.cartTTL)
	case f.ratingTTL <= 0:
		return fmt.Errorf("invalid --rating-ttl %s: must be positive, such as 24h", f.ratingTTL)
	case f.batchSize < 1 || f.batchSize > 100_000:
		return fmt.Errorf("invalid --batch-size %d: want 1 to 100000", f.batchSize)
	case !strings.HasPrefix(f.nats, "nats://") && !strings.HasPrefix(f.nats, "tls://"):
		return fmt.Errorf("invalid --nats %q: want a URL such as %s", f.nats, defaultNATS)
	case f.connectTimeout <= 0:
		return fmt.Errorf("invalid --connect-timeout %s: must be positive, such as 30s", f.connectTimeout)
	case !validHTTPAddr(f.httpAddr):
		return fmt.Errorf("invalid --http %q: want host:port such as %s or :9464, or empty to serve no HTTP", f.httpAddr, defaultDevHTTP)
	}
	if err := (publish.Subjects{Prefix: f.subjectPrefix}).Validate(); err != nil {
		return fmt.Errorf("invalid --subject-prefix %q: %w", f.subjectPrefix, err)
	}
	if err := ingest.ValidatePrefix(f.topicPrefix); err != nil {
		return fmt.Errorf("invalid --topic-prefix %q: %w", f.topicPrefix, err)
	}
	for _, r := range f.regions {
		if r == "" || strings.ContainsAny(r, " \t") {
			return fmt.Errorf("invalid --regions entry %q", r)
		}
	}
	return nil
}

// validHTTPAddr reports whether addr is empty or host:port with a port
// number from 0 to 65535, where 0 picks a free port.
func validHTTPAddr(addr string) bool {
	if addr == "" {
		return true
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// minContactKeyBytes is the shortest accepted contact hash key.
const minContactKeyBytes = 16

// contactKey reads the key from GRIDSESSION_CONTACT_KEY or from the key
// file. With create set, a missing file is created with a random key, which
// is what dev does.
func (f *workerFlags) contactKey(create bool) ([]byte, error) {
	if v := os.Getenv("GRIDSESSION_CONTACT_KEY"); v != "" {
		if len(v) < minContactKeyBytes {
			return nil, fmt.Errorf("GRIDSESSION_CONTACT_KEY is %d bytes; it must be at least %d", len(v), minContactKeyBytes)
		}
		return []byte(v), nil
	}
	if f.contactKeyFile == "" {
		return nil, errors.New("no contact hash key: set GRIDSESSION_CONTACT_KEY or --contact-key-file; every worker of a deployment needs the same key")
	}

	raw, err := os.ReadFile(f.contactKeyFile)
	if errors.Is(err, os.ErrNotExist) && create {
		buf := make([]byte, 32)
		if _, err := rand.Read(buf); err != nil {
			return nil, err
		}
		raw = []byte(hex.EncodeToString(buf))
		if err := os.MkdirAll(filepath.Dir(f.contactKeyFile), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(f.contactKeyFile, raw, 0o600); err != nil {
			return nil, fmt.Errorf("write contact key file: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read --contact-key-file: %w", err)
	}

	key := []byte(strings.TrimSpace(string(raw)))
	if len(key) < minContactKeyBytes {
		return nil, fmt.Errorf("contact key in %s is %d bytes; it must be at least %d", f.contactKeyFile, len(key), minContactKeyBytes)
	}
	return key, nil
}

// startWorker connects to NATS and Kafka and runs the session stage until
// ctx ends, reporting to o.
func startWorker(ctx context.Context, f *workerFlags, key []byte, log zerolog.Logger, o *workerOps) error {
	connectCtx, cancel := context.WithTimeout(ctx, f.connectTimeout)
	defer cancel()
	if err := ingest.CheckBroker(connectCtx, f.kafka); err != nil {
		return err
	}
	if f.createTopics {
		topics := ingest.Topics{Prefix: f.topicPrefix}
		if err := ingest.CreateTopics(connectCtx, f.kafka, f.partitions, -1, topics.Compacted, topics.All()...); err != nil {
			return err
		}
	}
	nc, err := publish.Connect(connectCtx, f.nats, "gridsession-worker", log)
	if err != nil {
		return fmt.Errorf("%w (check --nats, or wait longer with --connect-timeout)", err)
	}
	defer nc.Close()

	producer := ingest.NewProducer(f.kafka, log)
	defer producer.Close()

	// The registry of access keys guards space reads; a worker fails at
	// start when the keys topic cannot be read.
	keys := access.NewRegistry(f.kafka, ingest.Topics{Prefix: f.topicPrefix}, log)
	if err := keys.Start(ctx); err != nil {
		return err
	}
	defer keys.Close()
	log.Info().Int("keys", len(keys.Keys())).Msg("access keys loaded")

	w, err := processor.New(processor.Config{
		Brokers:      f.kafka,
		GroupID:      f.group,
		SpaceGroupID: f.spaceGroup,
		Topics:       ingest.Topics{Prefix: f.topicPrefix},
		Subjects:     publish.Subjects{Prefix: f.subjectPrefix},
		DataDir:      f.dataDir,
		Validator:    schemas.NewValidator(f.regions...),
		Projection: projection.Config{
			ContactKey:   key,
			MaxClockSkew: f.maxClockSkew,
			CartTTL:      f.cartTTL,
			RatingTTL:    f.ratingTTL,
		},
		BatchSize: f.batchSize,
		Clock:     f.clock.now(),
		Queries:   nc,
		Access:    keys,
		Log:       log,
		Hooks:     ops.Hooks(o.metrics, o.readiness),
	}, publish.New(nc), producer)
	if err != nil {
		return err
	}
	return o.run(ctx, w, f.kafka, log)
}

// workerOps are the metrics, readiness and HTTP server of a worker. All
// are nil when --http is empty.
type workerOps struct {
	metrics   *ops.Metrics
	readiness *ops.Readiness
	server    *ops.Server
}

// startOps starts the HTTP server of --http, unless it is empty.
func startOps(f *workerFlags, log zerolog.Logger) (*workerOps, error) {
	if f.httpAddr == "" {
		return &workerOps{}, nil
	}
	o := &workerOps{
		metrics:   ops.NewMetrics(ingest.Topics{Prefix: f.topicPrefix}),
		readiness: ops.NewReadiness(),
	}
	server, err := ops.Listen(f.httpAddr, o.metrics, o.readiness, log)
	if err != nil {
		return nil, fmt.Errorf("start the HTTP server of --http: %w", err)
	}
	o.server = server
	return o, nil
}

// run runs w until ctx ends and polls the consumer lag meanwhile. Once Run
// returns, /healthz and /readyz fail until the server closes.
func (o *workerOps) run(ctx context.Context, w *processor.Worker, brokers []string, log zerolog.Logger) error {
	if o.metrics == nil {
		return w.Run(ctx)
	}
	pollCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { o.metrics.PollLag(pollCtx, ops.LagOptions{Brokers: brokers, Log: log}) })

	err := w.Run(ctx)
	o.readiness.Stopped()
	cancel()
	wg.Wait()
	return err
}

// close stops the HTTP server, if one runs.
func (o *workerOps) close(log zerolog.Logger) {
	if o.server == nil {
		return
	}
	if err := o.server.Close(); err != nil {
		log.Warn().Err(err).Msg("http server did not stop cleanly")
	}
}

func runWorker(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("run", "run [flags]", stdout)
	var f workerFlags
	f.register(fs, useRun)
	fs.BoolVar(&f.createTopics, "create-topics", false, "create missing topics before starting")
	fs.IntVar(&f.partitions, "partitions", 8, "partitions of each topic that --create-topics creates")
	fs.StringVar(&f.httpAddr, "http", "", "listen address host:port of the HTTP server for /metrics, /healthz and /readyz, such as :9464; empty, the default, serves no HTTP")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", defaultConnectTimeout, "how long to wait at start for Kafka and NATS to answer before exiting with an error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	log, err := newLogger(f.logLevel)
	if err != nil {
		return err
	}
	key, err := f.contactKey(false)
	if err != nil {
		return err
	}
	lock, err := lockDataDir(f.dataDir)
	if err != nil {
		return err
	}
	defer lock.Close()

	o, err := startOps(&f, log)
	if err != nil {
		return err
	}
	defer o.close(log)
	return startWorker(ctx, &f, key, log, o)
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/embedded"
)

func runDev(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("dev", "dev [flags]", stdout)
	var f workerFlags
	f.register(fs, useDev)
	kafkaAddr := fs.String("kafka-addr", defaultKafka, "listen address of the embedded Kafka-protocol broker")
	natsAddr := fs.String("nats-addr", "127.0.0.1:4222", "listen address of the embedded NATS server")
	partitions := fs.Int("partitions", 8, "partitions of each topic created on first start")
	fs.StringVar(&f.httpAddr, "http", defaultDevHTTP, "listen address host:port of the HTTP server for /metrics, /healthz and /readyz; port 0 picks a free port, empty serves no HTTP")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	if *partitions < 1 || *partitions > 1024 {
		return fmt.Errorf("invalid --partitions %d: want 1 to 1024", *partitions)
	}
	log, err := newLogger(f.logLevel)
	if err != nil {
		return err
	}

	root := f.dataDir
	lock, err := lockDataDir(root)
	if err != nil {
		return err
	}
	defer lock.Close()
	f.contactKeyFile = filepath.Join(root, "contact.key")
	key, err := f.contactKey(true)
	if err != nil {
		return err
	}
	topics := ingest.Topics{Prefix: f.topicPrefix}

	kafka, err := embedded.StartKafka(embedded.KafkaOptions{
		Addr:       *kafkaAddr,
		DataDir:    filepath.Join(root, "kafka"),
		Partitions: *partitions,
		Topics:     plainTopics(topics),
	})
	if err != nil {
		return fmt.Errorf("start embedded Kafka on %s: %w", *kafkaAddr, err)
	}
	defer kafka.Close()
	for _, t := range topics.All() {
		if topics.Compacted(t) {
			if err := kafka.EnsureTopic(t, *partitions, map[string]string{"cleanup.policy": "compact"}); err != nil {
				return fmt.Errorf("create topic %s: %w", t, err)
			}
		}
	}

	nats, err := embedded.StartNATS(embedded.NATSOptions{Addr: *natsAddr})
	if err != nil {
		return fmt.Errorf("start embedded NATS on %s: %w", *natsAddr, err)
	}
	defer nats.Close()

	f.kafka = listFlag{kafka.Addr()}
	f.nats = nats.ClientURL()
	f.dataDir = filepath.Join(root, "worker")

	o, err := startOps(&f, log)
	if err != nil {
		return err
	}
	defer o.close(log)

	fmt.Fprintf(stdout, "gridsession dev is running (Ctrl-C stops it)\n  Kafka: %s\n  NATS:  %s\n", kafka.Addr(), nats.ClientURL())
	if o.server != nil {
		fmt.Fprintf(stdout, "  HTTP:  http://%s (/metrics, /healthz, /readyz)\n", o.server.Addr())
	}
	fmt.Fprintf(stdout, "  data:  %s\n", root)
	self := os.Args[0]
	fmt.Fprintf(stdout, "Load data with: %s load --kafka %s FILE.csv\nWatch it with:  %s tail --nats %s\n", self, kafka.Addr(), self, nats.ClientURL())

	started := time.Now()
	err = startWorker(ctx, &f, key, log, o)
	log.Info().Str("uptime", time.Since(started).Round(time.Second).String()).Msg("stopping embedded servers")
	return err
}

// plainTopics lists the topics that need no configuration beyond their
// partition count.
func plainTopics(topics ingest.Topics) []string {
	var out []string
	for _, t := range topics.All() {
		if !topics.Compacted(t) {
			out = append(out, t)
		}
	}
	return out
}

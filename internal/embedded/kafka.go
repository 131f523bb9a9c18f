package embedded

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Defaults of KafkaOptions.
const (
	DefaultKafkaAddr       = "127.0.0.1:9092"
	DefaultPartitions      = 8
	DefaultMaxMessageBytes = 2 << 20 // 2 MiB
)

// KafkaOptions configures StartKafka. The zero value starts an in-memory
// broker on DefaultKafkaAddr with no topics.
type KafkaOptions struct {
	// Addr is the host and port to listen on; empty means
	// DefaultKafkaAddr and port 0 picks a free port. The broker
	// advertises this address to clients in metadata responses, so the
	// host must be one that clients can dial, not 0.0.0.0 or [::].
	Addr string

	// DataDir persists topics, records and committed group offsets in
	// this directory, created if needed, and a later start on the same
	// directory resumes them. Empty keeps everything in memory. Two
	// brokers must not share a directory.
	DataDir string

	// SyncWrites syncs every produced batch to disk before the broker
	// acknowledges it. Without it, acknowledged batches and committed
	// offsets survive a killed process, because kfake writes them to the
	// files at once, but an OS crash or power loss can lose the batches
	// since the last segment roll. It has no effect without DataDir.
	SyncWrites bool

	// Topics are created with Partitions partitions unless they exist.
	Topics []string

	// Partitions is the partition count of new Topics; zero means
	// DefaultPartitions.
	Partitions int

	// MaxMessageBytes is the largest record batch the broker accepts
	// (message.max.bytes). Zero means DefaultMaxMessageBytes, which is
	// above Kafka's default of 1048588 bytes so tests can send records
	// larger than 1 MiB.
	MaxMessageBytes int

	// GroupMinSessionTimeout is the shortest session timeout a consumer
	// group member may request; zero keeps kfake's default of 6 seconds,
	// which matches Kafka's group.min.session.timeout.ms.
	GroupMinSessionTimeout time.Duration

	// Log receives the broker's log lines. The zero value logs nothing.
	Log zerolog.Logger
}

// Kafka is a running single-broker Kafka-protocol cluster.
type Kafka struct {
	cluster   *kfake.Cluster
	addr      string
	closeOnce sync.Once
}

// StartKafka starts one kfake broker as opts describe and creates the
// missing topics. It returns an error when the address cannot be listened
// on, the data directory cannot be loaded, or an existing topic has another
// partition count than opts.Partitions.
func StartKafka(opts KafkaOptions) (*Kafka, error) {
	addr := opts.Addr
	if addr == "" {
		addr = DefaultKafkaAddr
	}
	if err := checkAdvertisedAddr(addr); err != nil {
		return nil, err
	}
	partitions := opts.Partitions
	if partitions == 0 {
		partitions = DefaultPartitions
	}
	if partitions < 0 {
		return nil, fmt.Errorf("embedded: kafka: partitions is %d, expected a positive count", partitions)
	}
	maxMessageBytes := opts.MaxMessageBytes
	if maxMessageBytes == 0 {
		maxMessageBytes = DefaultMaxMessageBytes
	}
	if maxMessageBytes < 0 {
		return nil, fmt.Errorf("embedded: kafka: max message bytes is %d, expected a positive size", maxMessageBytes)
	}

	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		// kfake passes 127.0.0.1 and a port to the listen function,
		// which ignores them and listens on addr instead.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, addr)
		}),
		kfake.DefaultNumPartitions(partitions),
		kfake.BrokerConfigs(map[string]string{
			"message.max.bytes": strconv.Itoa(maxMessageBytes),
		}),
	}
	if opts.GroupMinSessionTimeout > 0 {
		kopts = append(kopts, kfake.GroupMinSessionTimeout(opts.GroupMinSessionTimeout))
	}
	if opts.DataDir != "" {
		kopts = append(kopts, kfake.DataDir(opts.DataDir))
		if opts.SyncWrites {
			kopts = append(kopts, kfake.SyncWrites())
		}
	}
	if loggerEnabled(opts.Log) {
		kopts = append(kopts, kfake.WithLogger(kafkaLogger{opts.Log}))
	}

	cluster, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("embedded: start kafka on %s: %w", addr, err)
	}
	k := &Kafka{cluster: cluster, addr: cluster.ListenAddrs()[0]}
	for _, topic := range opts.Topics {
		if err := k.EnsureTopic(topic, partitions, nil); err != nil {
			k.Close()
			return nil, err
		}
	}
	return k, nil
}

// checkAdvertisedAddr rejects an address that clients could not dial back.
func checkAdvertisedAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("embedded: kafka address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return fmt.Errorf("embedded: kafka address %q has no concrete host; the broker advertises it to clients, so use a host such as 127.0.0.1", addr)
	}
	return nil
}

// Addr returns the host and port the broker listens on and advertises, with
// the port resolved when Options.Addr asked for port 0.
func (k *Kafka) Addr() string { return k.addr }

// Cluster returns the underlying kfake cluster, for tests that inject
// faults or wait for a consumer group to settle. Its methods block forever
// after Close.
func (k *Kafka) Cluster() *kfake.Cluster { return k.cluster }

// EnsureTopic creates topic with partitions partitions and the given topic
// configs unless it exists. It returns an error when the topic exists with
// another partition count, because the session stage relies on its input
// topics having the same count. It must not be called after Close.
func (k *Kafka) EnsureTopic(topic string, partitions int, configs map[string]string) error {
	if partitions <= 0 {
		return fmt.Errorf("embedded: kafka topic %q: partitions is %d, expected a positive count", topic, partitions)
	}

	err := k.cluster.CreateTopic(topic, int32(partitions), configs)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("embedded: create kafka topic %q: %w", topic, err)
	}
	if have := len(k.cluster.PartitionInfos(topic)); have != partitions {
		return fmt.Errorf("embedded: kafka topic %q has %d partitions, expected %d; delete the data directory or start with %d partitions", topic, have, partitions, have)
	}
	return nil
}

// Close stops the broker and, with a data directory, saves its state. It is
// safe to call more than once and from several goroutines.
func (k *Kafka) Close() {
	k.closeOnce.Do(k.cluster.Close)
}

package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tckafka "github.com/testcontainers/testcontainers-go/modules/kafka"
	tcnats "github.com/testcontainers/testcontainers-go/modules/nats"
	"github.com/testcontainers/testcontainers-go/wait"
	"golang.org/x/sync/errgroup"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/embedded"
)

// backendEnv names the environment variable that selects the servers of
// the integration tests: "embedded", "docker", or "auto" (the default),
// which uses Docker when an engine responds and the embedded servers
// otherwise.
const backendEnv = "GRIDSESSION_TEST_BACKEND"

// Images of the Docker backend.
//
// NOTE: the Docker backend has not been run against an engine yet. Kafka
// stays on the last 3.x release because Kafka 4.0 removed old protocol
// versions (KIP-896), and this repository's kafka-go version has not been
// tried against a 4.x broker.
const (
	kafkaImage = "apache/kafka:3.9.1"
	natsImage  = "nats:2.11.7"
)

// dockerProbeTimeout bounds the check for a Docker engine, so that a
// machine without one starts the tests at once.
const dockerProbeTimeout = 3 * time.Second

// containerStartTimeout bounds starting both containers of a cluster and
// creating its topics, image pulls included.
const containerStartTimeout = 5 * time.Minute

// backend is the kind of servers every cluster of this test binary runs on.
type backend struct {
	docker bool
	// reason is why this backend was chosen, for the log line.
	reason string
}

func (b backend) String() string {
	name := "embedded"
	if b.docker {
		name = "docker"
	}
	return name + " (" + b.reason + ")"
}

// selected is set once by TestMain before any test runs.
var selected backend

func TestMain(m *testing.M) {
	b, err := chooseBackend(os.Getenv(backendEnv))
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration backend: %v\n", err)
		os.Exit(1)
	}
	selected = b
	fmt.Printf("integration backend: %s\n", b)
	os.Exit(m.Run())
}

// chooseBackend returns the backend that setting, the value of backendEnv,
// selects. It returns an error for an unknown setting, and for "docker"
// when no Docker engine responds, so that a run that requested containers
// never passes on the embedded servers instead.
func chooseBackend(setting string) (backend, error) {
	switch setting {
	case "embedded":
		return backend{reason: backendEnv + "=embedded"}, nil
	case "docker":
		if err := probeDocker(); err != nil {
			return backend{}, fmt.Errorf("%s=docker, but no Docker engine responded: %w", backendEnv, err)
		}
		return backend{docker: true, reason: backendEnv + "=docker"}, nil
	case "", "auto":
		if err := probeDocker(); err != nil {
			return backend{reason: "no Docker engine: " + strings.ReplaceAll(err.Error(), "\n", "; ")}, nil
		}
		return backend{docker: true, reason: "Docker engine found"}, nil
	}
	return backend{}, fmt.Errorf("invalid %s=%q: expected embedded, docker or auto", backendEnv, setting)
}

// probeDocker pings the Docker engine that testcontainers would use,
// within dockerProbeTimeout.
func probeDocker() (err error) {
	// testcontainers panics instead of returning an error when it finds
	// no Docker host at all.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), dockerProbeTimeout)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.Ping(ctx)
	return err
}

// kafkaServer is the Kafka broker of a cluster. On the embedded backend it
// is an *embedded.Kafka, so a test that injects faults through kfake can
// assert to that type and skip on the Docker backend.
type kafkaServer interface {
	// Addr returns the host and port that clients bootstrap from.
	Addr() string
}

// natsServer is the NATS server of a cluster. On the embedded backend it is
// an *embedded.NATS.
type natsServer interface {
	// ClientURL returns the URL that clients connect to.
	ClientURL() string
}

// kafkaContainer is a broker in a container, reached through a port on the
// Docker host.
type kafkaContainer struct{ addr string }

func (k kafkaContainer) Addr() string { return k.addr }

// natsContainer is a NATS server in a container.
type natsContainer struct{ url string }

func (n natsContainer) ClientURL() string { return n.url }

// startServers starts a broker with every topic of topics, each with
// partitions partitions, and a NATS server on the selected backend. They
// stop when the test ends.
func startServers(t *testing.T, topics ingest.Topics, partitions int) (kafkaServer, natsServer) {
	t.Helper()
	t.Logf("integration backend: %s", selected)
	if selected.docker {
		return startContainers(t, topics, partitions)
	}
	return embedded.KafkaForTest(t, topics.All(), partitions), embedded.NATSForTest(t)
}

// startContainers starts the Kafka and NATS containers side by side.
func startContainers(t *testing.T, topics ingest.Topics, partitions int) (kafkaServer, natsServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), containerStartTimeout)
	defer cancel()

	var (
		broker  string
		natsURL string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		broker, err = startKafkaContainer(gctx, t, topics, partitions)
		return err
	})
	g.Go(func() error {
		var err error
		natsURL, err = startNATSContainer(gctx, t)
		return err
	})
	if err := g.Wait(); err != nil {
		t.Fatalf("docker backend: %v", err)
	}
	return kafkaContainer{addr: broker}, natsContainer{url: natsURL}
}

// kafkaClientPort is the container port of the listener that the kafka
// module exposes to the host, named PLAINTEXT in the listeners it sets.
const kafkaClientPort = "9093/tcp"

// kafkaStartScript is where startApacheKafka writes the script that the
// container's command waits for.
const kafkaStartScript = "/tmp/gridsession-start-kafka.sh"

// kafkaClusterID is the KRaft cluster id of the test brokers. Any 16 bytes
// in unpadded base64url will do.
const kafkaClusterID = "Z3JpZHNlc3Npb24tdGVzdA"

// startKafkaContainer runs Apache Kafka in KRaft mode, creates every topic
// of topics with partitions partitions, compacted where topics.Compacted
// returns true, and returns the broker's host and port.
//
// The kafka module of testcontainers-go v0.40.0 configures the broker's
// listeners but starts it with a script for Confluent images. Here the
// container waits for a script of our own instead, which sets the
// advertised listeners once the host port is known and then runs the
// Apache image's own start script.
func startKafkaContainer(ctx context.Context, t *testing.T, topics ingest.Topics, partitions int) (string, error) {
	ctr, err := tckafka.Run(ctx, kafkaImage,
		testcontainers.WithLogger(tclog.TestLogger(t)),
		tckafka.WithClusterID(kafkaClusterID),
		testcontainers.WithEnv(map[string]string{
			// Topics exist only when created, as on the embedded broker.
			"KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
			// The embedded broker accepts these too: short group
			// session timeouts and batches up to 2 MiB.
			"KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS": "100",
			"KAFKA_MESSAGE_MAX_BYTES":            strconv.Itoa(embedded.DefaultMaxMessageBytes),
		}),
		testcontainers.WithEntrypoint("sh"),
		testcontainers.WithCmd("-c", "while [ ! -f "+kafkaStartScript+" ]; do sleep 0.1; done; exec bash "+kafkaStartScript),
		testcontainers.WithLifecycleHooks(testcontainers.ContainerLifecycleHooks{
			PostStarts: []testcontainers.ContainerHook{startApacheKafka},
		}),
	)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		return "", fmt.Errorf("start %s: %w", kafkaImage, err)
	}

	// The module returns one address: the port mapped to kafkaClientPort.
	brokers, err := ctr.Brokers(ctx)
	if err != nil {
		return "", fmt.Errorf("kafka container address: %w", err)
	}
	if err := ingest.CreateTopics(ctx, brokers, partitions, 1, topics.Compacted, topics.All()...); err != nil {
		return "", err
	}
	if err := waitForPartitions(ctx, brokers, topics.All(), partitions); err != nil {
		return "", err
	}
	return brokers[0], nil
}

// startApacheKafka writes kafkaStartScript into the started container and
// waits until the broker has joined the cluster.
func startApacheKafka(ctx context.Context, c testcontainers.Container) error {
	if err := wait.ForMappedPort(kafkaClientPort).WaitUntilReady(ctx, c); err != nil {
		return fmt.Errorf("wait for kafka port mapping: %w", err)
	}
	endpoint, err := c.PortEndpoint(ctx, kafkaClientPort, "PLAINTEXT")
	if err != nil {
		return fmt.Errorf("kafka port endpoint: %w", err)
	}
	inspect, err := c.Inspect(ctx)
	if err != nil {
		return fmt.Errorf("inspect kafka container: %w", err)
	}

	// Clients on the host use the mapped port. The broker reaches itself
	// through the BROKER listener under the container's host name.
	script := fmt.Sprintf("export KAFKA_ADVERTISED_LISTENERS=%s,BROKER://%s:9092\nexec /etc/kafka/docker/run\n",
		endpoint, inspect.Config.Hostname)
	if err := c.CopyToContainer(ctx, []byte(script), kafkaStartScript, 0o755); err != nil {
		return fmt.Errorf("copy kafka start script: %w", err)
	}
	return wait.ForLog("Kafka Server started").WaitUntilReady(ctx, c)
}

// waitForPartitions waits until the broker's metadata lists every topic
// with partitions partitions. A topic is missing from the metadata for a
// moment after CreateTopics returns.
func waitForPartitions(ctx context.Context, brokers, topics []string, partitions int) error {
	for {
		n, err := ingest.PartitionCount(ctx, brokers, topics)
		if err == nil && n != partitions {
			return fmt.Errorf("kafka container: topics have %d partitions, expected %d", n, partitions)
		}
		if err == nil {
			return nil
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka container: topics not ready: %w", errors.Join(err, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startNATSContainer runs a NATS server with JetStream and returns its URL.
func startNATSContainer(ctx context.Context, t *testing.T) (string, error) {
	ctr, err := tcnats.Run(ctx, natsImage, testcontainers.WithLogger(tclog.TestLogger(t)))
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		return "", fmt.Errorf("start %s: %w", natsImage, err)
	}
	url, err := ctr.ConnectionString(ctx)
	if err != nil {
		return "", fmt.Errorf("nats container address: %w", err)
	}
	return url, nil
}

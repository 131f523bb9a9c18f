package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// DefaultRequestTimeout is the default of Config.RequestTimeout.
const DefaultRequestTimeout = 2 * time.Second

// Config configures a Client. Brokers, NATSURL, Tenant and Region are
// required; every other field has the default its comment gives.
type Config struct {
	// Brokers are the Kafka bootstrap brokers as host:port. The client
	// sends records to them and reads the partition counts that decide
	// which worker owns a session or space.
	Brokers []string
	// NATSURL is the URL of the NATS server, or several URLs separated by
	// commas.
	NATSURL string
	// Tenant is the tenantId of every get and subscription, and of every
	// record sent without one.
	Tenant string
	// Region is the dataResidency of every record sent without one, and of
	// every get. It must be one of Regions.
	Region string
	// Regions lists the dataResidency values the deployment serves, as set
	// by the workers' --regions flag. Empty means schemas.DefaultRegions.
	Regions []string
	// TopicPrefix starts every Kafka topic name. Empty means
	// ingest.DefaultPrefix ("gridsession").
	TopicPrefix string
	// SubjectPrefix starts every NATS subject. Empty means
	// publish.DefaultPrefix ("gridsession").
	SubjectPrefix string
	// RequestTimeout bounds one attempt of a get or access check. A get
	// makes attempts until one succeeds or its context ends. Zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Log receives connection events, retries and dropped subscription
	// messages. The zero value logs nothing.
	Log zerolog.Logger
}

// Validate reports the first missing or invalid setting.
func (cfg *Config) Validate() error {
	if len(cfg.Brokers) == 0 {
		return errors.New("client: no Kafka brokers configured: set Config.Brokers")
	}
	if strings.TrimSpace(cfg.NATSURL) == "" {
		return errors.New("client: no NATS URL configured: set Config.NATSURL")
	}
	if err := schemas.CheckID("tenantId", cfg.Tenant); err != nil {
		return fmt.Errorf("client: invalid Config.Tenant: %w", err)
	}
	regions := cfg.Regions
	if len(regions) == 0 {
		regions = schemas.DefaultRegions
	}
	if !slices.Contains(regions, cfg.Region) {
		return fmt.Errorf("client: invalid Config.Region %q: must be one of %s", cfg.Region, strings.Join(regions, ", "))
	}
	if cfg.TopicPrefix != "" {
		if err := ingest.ValidatePrefix(cfg.TopicPrefix); err != nil {
			return fmt.Errorf("client: invalid Config.TopicPrefix: %w", err)
		}
	}
	if err := (publish.Subjects{Prefix: cfg.SubjectPrefix}).Validate(); err != nil {
		return fmt.Errorf("client: invalid Config.SubjectPrefix: %w", err)
	}
	if cfg.RequestTimeout < 0 {
		return fmt.Errorf("client: invalid Config.RequestTimeout %s: must not be negative", cfg.RequestTimeout)
	}
	return nil
}

// Client is a connection to one gridsession deployment for one tenant. It
// is safe for concurrent use.
type Client struct {
	cfg       Config
	topics    ingest.Topics
	subjects  publish.Subjects
	validator *schemas.Validator
	nc        *nats.Conn
	producer  *ingest.Producer
	// dropLog and retryLog log at most 5 lines per 10 seconds each.
	dropLog  zerolog.Logger
	retryLog zerolog.Logger

	owners owners

	mu     sync.Mutex
	closed bool
	// subscriptions are the ones with a callback, which Close stops.
	subscriptions map[stopper]struct{}
}

// stopper is a Subscription of any type.
type stopper interface{ Stop() }

// New checks cfg, checks that a Kafka broker accepts connections and
// connects to NATS. It retries the NATS connection until ctx ends, so ctx
// bounds how long New waits for the servers. The caller closes the Client.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	log := cfg.Log.With().Str("component", "client").Str("tenant", cfg.Tenant).Logger()

	if err := ingest.CheckBroker(ctx, cfg.Brokers); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	nc, err := publish.Connect(ctx, cfg.NATSURL, "gridsession-client", log)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}

	c := &Client{
		cfg:           cfg,
		topics:        ingest.Topics{Prefix: cfg.TopicPrefix},
		subjects:      publish.Subjects{Prefix: cfg.SubjectPrefix},
		validator:     schemas.NewValidator(cfg.Regions...),
		nc:            nc,
		producer:      ingest.NewProducer(cfg.Brokers, log),
		dropLog:       log.Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second}),
		retryLog:      log.Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second}),
		subscriptions: map[stopper]struct{}{},
	}
	c.owners.brokers = cfg.Brokers
	c.owners.topics = c.topics
	return c, nil
}

// Close stops every subscription, waiting for running callbacks, then
// waits for running sends and closes the connections. Every method returns
// ErrClosed afterwards. Close is safe to call more than once, but not from
// a subscription callback, because it waits for that callback to return.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	subscriptions := make([]stopper, 0, len(c.subscriptions))
	for s := range c.subscriptions {
		subscriptions = append(subscriptions, s)
	}
	c.mu.Unlock()

	for _, s := range subscriptions {
		s.Stop()
	}
	err := c.producer.Close()
	c.nc.Close()
	return err
}

// checkOpen returns ErrClosed after Close.
func (c *Client) checkOpen() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return nil
}

// track registers a subscription for Close, or returns ErrClosed.
func (c *Client) track(s stopper) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.subscriptions[s] = struct{}{}
	return nil
}

func (c *Client) untrack(s stopper) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.subscriptions, s)
}

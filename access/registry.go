package access

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
)

// Defaults of the Registry options.
const (
	DefaultStartTimeout  = 30 * time.Second
	DefaultMaxFailures   = 5
	DefaultFailureWindow = time.Minute
	DefaultCacheTTL      = 60 * time.Second
)

// Memory bounds of a Registry.
const (
	// maxTrackedIDs bounds the browser ids whose failures are counted.
	maxTrackedIDs = 10_000
	// maxCacheEntries bounds the cached successful verifications.
	maxCacheEntries = 10_000
)

// Option configures a Registry.
type Option func(*options)

type options struct {
	now           func() time.Time
	startTimeout  time.Duration
	maxFailures   int
	failureWindow time.Duration
	cacheTTL      time.Duration
	maxHashes     int
}

// WithClock sets the clock of the failure limiter and of the verification
// cache. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithStartTimeout sets how long Start waits to read the topic up to its
// end offsets. The default is DefaultStartTimeout.
func WithStartTimeout(d time.Duration) Option {
	return func(o *options) { o.startTimeout = d }
}

// WithFailureLimit sets how many failed checks a browser id may have within
// window before Check rejects it with ErrRateLimited until the window,
// which starts at the first failure, has passed. The defaults are
// DefaultMaxFailures and DefaultFailureWindow.
func WithFailureLimit(maxFailures int, window time.Duration) Option {
	return func(o *options) { o.maxFailures, o.failureWindow = maxFailures, window }
}

// WithCacheTTL sets how long a successful verification of a browser id and
// access key is remembered, so that Check does not hash the key again. Zero
// disables the cache. The default is DefaultCacheTTL.
func WithCacheTTL(d time.Duration) Option {
	return func(o *options) { o.cacheTTL = d }
}

// WithMaxConcurrentHashes sets how many argon2id verifications run at once.
// Each one takes 19 MiB of memory, and further checks wait for a slot. The
// default is GOMAXPROCS.
func WithMaxConcurrentHashes(n int) Option {
	return func(o *options) { o.maxHashes = n }
}

func (o *options) validate() error {
	switch {
	case o.now == nil:
		return errors.New("access: WithClock needs a function, not nil")
	case o.startTimeout <= 0:
		return fmt.Errorf("access: invalid start timeout %s: must be positive", o.startTimeout)
	case o.maxFailures < 1:
		return fmt.Errorf("access: invalid failure limit %d: must be at least 1", o.maxFailures)
	case o.failureWindow <= 0:
		return fmt.Errorf("access: invalid failure window %s: must be positive", o.failureWindow)
	case o.cacheTTL < 0:
		return fmt.Errorf("access: invalid cache TTL %s: must not be negative", o.cacheTTL)
	}
	return nil
}

// Registry holds the access keys of a deployment, read from the compacted
// access-keys topic, and checks browser ids and access keys against them.
// Start reads the whole topic and keeps following it, so that keys issued
// or revoked later take effect within moments. A Registry is safe for
// concurrent use.
//
// NOTE: while the brokers are unreachable, Check keeps using the keys read
// so far, so a revocation takes effect only once the reader reconnects.
// Partitions added to the topic after Start are not read.
type Registry struct {
	brokers []string
	topic   string
	opts    options
	log     zerolog.Logger
	// checkLog and readLog log at most 10 lines per 10 seconds each.
	checkLog zerolog.Logger
	readLog  zerolog.Logger

	macKey    []byte
	limiter   *failureLimiter
	cache     *verifyCache
	hashSlots chan struct{}
	failures  atomic.Uint64

	mu sync.RWMutex
	// keys maps browser ids to their latest record. Entries are replaced,
	// never modified, so a reader may use an entry after releasing mu.
	keys map[string]*entry
	// version counts the records applied, and numbers each entry.
	version uint64

	lifeMu  sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	// runCtx ends when the readers stop. It is set before ready.
	runCtx context.Context
	ready  atomic.Bool
	wg     sync.WaitGroup
}

// entry is the latest record of one key. hash is nil when the key is
// revoked.
type entry struct {
	key     Key
	hash    *argonHash
	version uint64
}

// NewRegistry returns a Registry for the access-keys topic of topics on
// brokers. It does not connect until Start. Key changes and read errors
// are logged to log, and rejected checks at warn level, at most 10 lines
// per 10 seconds.
func NewRegistry(brokers []string, topics ingest.Topics, log zerolog.Logger, opts ...Option) *Registry {
	o := options{
		now:           time.Now,
		startTimeout:  DefaultStartTimeout,
		maxFailures:   DefaultMaxFailures,
		failureWindow: DefaultFailureWindow,
		cacheTTL:      DefaultCacheTTL,
		maxHashes:     runtime.GOMAXPROCS(0),
	}
	for _, opt := range opts {
		opt(&o)
	}
	o.maxHashes = max(o.maxHashes, 1)

	log = log.With().Str("component", "access").Logger()
	macKey := make([]byte, 32)
	// crypto/rand.Read never returns an error since Go 1.24; it crashes
	// the program instead when reading randomness from the system fails.
	_, _ = rand.Read(macKey)
	return &Registry{
		brokers:   brokers,
		topic:     topics.AccessKeys(),
		opts:      o,
		log:       log,
		checkLog:  log.Sample(&zerolog.BurstSampler{Burst: 10, Period: 10 * time.Second}),
		readLog:   log.Sample(&zerolog.BurstSampler{Burst: 10, Period: 10 * time.Second}),
		macKey:    macKey,
		limiter:   newFailureLimiter(o.maxFailures, o.failureWindow, maxTrackedIDs),
		cache:     newVerifyCache(o.cacheTTL, maxCacheEntries),
		hashSlots: make(chan struct{}, o.maxHashes),
		keys:      map[string]*entry{},
	}
}

// Start creates the access-keys topic if it is missing, reads every record
// from the earliest offset up to the end offsets it finds, and returns once
// they are applied. It returns an error naming the partitions behind when
// that takes longer than the start timeout.
//
// A reader goroutine per partition keeps following the topic until ctx
// ends or Close is called, so ctx must live as long as the Registry is
// used. Check returns ErrClosed after either. Start may be called once.
func (r *Registry) Start(ctx context.Context) error {
	if len(r.brokers) == 0 {
		return errNoBrokers
	}
	if err := r.opts.validate(); err != nil {
		return err
	}
	runCtx, err := r.begin(ctx)
	if err != nil {
		return err
	}

	started := time.Now()
	client := newClient(r.brokers)
	if err := ensureTopic(ctx, client, r.topic); err != nil {
		r.Close()
		return err
	}
	if err := checkCompacted(ctx, client, r.topic); err != nil {
		r.log.Warn().Err(err).Str("topic", r.topic).Msg("access keys topic may not be compacted")
	}
	ranges, err := partitionRanges(ctx, client, r.topic)
	if err != nil {
		r.Close()
		return err
	}

	progress := newCatchUp(ranges)
	if err := r.addReaders(len(ranges)); err != nil {
		return err
	}
	for _, p := range ranges {
		go r.follow(runCtx, p, progress)
	}
	timer := time.NewTimer(r.opts.startTimeout)
	defer timer.Stop()
	select {
	case <-progress.done:
	case <-timer.C:
		r.Close()
		return fmt.Errorf("access: read topic %s: not caught up within %s: %s", r.topic, r.opts.startTimeout, progress)
	case <-runCtx.Done():
		// Either ctx ended or Close was called.
		r.Close()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("access: read topic %s: %w", r.topic, err)
		}
		return ErrClosed
	}

	r.ready.Store(true)
	r.log.Info().Str("topic", r.topic).Int("partitions", len(ranges)).Int("keys", r.countKeys()).
		Dur("took", time.Since(started)).Msg("access keys loaded")
	return nil
}

// begin marks r as started and returns the context of its readers.
func (r *Registry) begin(ctx context.Context) (context.Context, error) {
	r.lifeMu.Lock()
	defer r.lifeMu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if r.started {
		return nil, errors.New("access: Start called twice")
	}
	r.started = true
	r.runCtx, r.cancel = context.WithCancel(ctx)
	return r.runCtx, nil
}

// addReaders counts n reader goroutines in r.wg unless Close has been
// called, so that Close never waits before they are counted.
func (r *Registry) addReaders(n int) error {
	r.lifeMu.Lock()
	defer r.lifeMu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.wg.Add(n)
	return nil
}

// Close stops the readers and waits for them. Check returns ErrClosed
// afterwards. Close is safe to call more than once.
func (r *Registry) Close() {
	r.lifeMu.Lock()
	r.closed = true
	cancel := r.cancel
	r.lifeMu.Unlock()

	if cancel != nil {
		cancel()
	}
	r.wg.Wait()
}

// apply stores the key record m. A record that cannot be decoded removes
// the key, so that a corrupt revocation never leaves the old key valid.
func (r *Registry) apply(m kafka.Message) {
	browserID := string(m.Key)
	var rec *record
	var hash *argonHash
	var err error
	if m.Value != nil {
		rec, hash, err = decodeRecord(browserID, m.Value)
	}

	r.mu.Lock()
	r.version++
	if rec == nil {
		delete(r.keys, browserID)
	} else {
		r.keys[browserID] = &entry{key: rec.Key, hash: hash, version: r.version}
	}
	r.mu.Unlock()

	switch {
	case err != nil:
		r.readLog.Error().Err(err).Str("browser_id", logValue(browserID)).Str("topic", m.Topic).
			Int("partition", m.Partition).Int64("offset", m.Offset).Msg("invalid access key record; key disabled")
	case rec == nil:
		r.log.Info().Str("browser_id", logValue(browserID)).Msg("access key deleted")
	case rec.Revoked:
		r.log.Debug().Str("browser_id", browserID).Str("tenant", rec.TenantID).Msg("access key revoked")
	default:
		r.log.Debug().Str("browser_id", browserID).Str("tenant", rec.TenantID).Strs("spaces", rec.Spaces).Msg("access key loaded")
	}
}

// lookup returns the entry of browserID, or nil.
func (r *Registry) lookup(browserID string) *entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys[browserID]
}

// Keys returns every key read so far, revoked ones included, sorted by
// browser id. The caller owns the returned slice.
func (r *Registry) Keys() []Key {
	r.mu.RLock()
	keys := make([]Key, 0, len(r.keys))
	for _, e := range r.keys {
		k := e.key
		k.Spaces = slices.Clone(k.Spaces)
		keys = append(keys, k)
	}
	r.mu.RUnlock()

	slices.SortFunc(keys, func(a, b Key) int { return cmp.Compare(a.BrowserID, b.BrowserID) })
	return keys
}

func (r *Registry) countKeys() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.keys)
}

package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"golang.org/x/sync/errgroup"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
)

// Sources of a run, as Summary.Source names them.
const (
	SourceSynthetic = "synthetic"
	SourceFiles     = "files"
)

// Timing of Run.
const (
	// connectTimeout bounds the first connection to Kafka and NATS.
	connectTimeout = 10 * time.Second
	// pollInterval is how often Run checks whether the events it waits
	// for have arrived.
	pollInterval = 10 * time.Millisecond
	// settleTimeout bounds the wait, once every event has arrived, for
	// the subscriber to handle the messages still queued, such as the
	// state message after the last event.
	settleTimeout = time.Second
)

// Run sends the records of cfg to Kafka, observes their raw events on NATS
// and returns the Summary. It needs a worker that consumes the topics and
// publishes under the subjects of cfg; StartEmbedded starts one.
//
// Before the run starts, Run sends a probe event to every partition and
// waits for all of them to arrive, so that the run does not measure a
// worker still joining its consumer group. It returns ErrNoWorker when they
// do not arrive within cfg.WarmupTimeout. After the last send it waits up to
// cfg.DrainTimeout for the events on their way, and returns the Summary
// together with an error wrapping ErrNotObserved when some never arrived.
// Any other error, including the end of ctx, returns no Summary.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	cfg = cfg.withDefaults()
	for _, path := range cfg.Files {
		if _, err := os.Stat(path); err != nil {
			return Summary{}, fmt.Errorf("bench: %w", err)
		}
	}
	r, err := newRunner(cfg)
	if err != nil {
		return Summary{}, err
	}
	return r.execute(ctx)
}

// runner is the state of one Run call.
type runner struct {
	cfg    Config
	id     string
	tenant string
	seed   uint64
	// started is the run's time zero: sentTable, observer and sender
	// count times from it.
	started time.Time
	sent    *sentTable
}

func newRunner(cfg Config) (*runner, error) {
	id, err := newRunID()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, id: id, tenant: cfg.Tenant, seed: cfg.Seed, started: time.Now(), sent: &sentTable{}}
	if r.tenant == "" {
		r.tenant = "bench-" + id
	}
	if r.seed == 0 && len(cfg.Files) == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("bench: seed: %w", err)
		}
		// Zero would mean "pick a seed" when the Summary's seed is
		// passed back in to repeat the run.
		r.seed = max(binary.LittleEndian.Uint64(b[:]), 1)
	}
	return r, nil
}

// newRunID returns 8 random hex digits that set the run's ids apart from
// those of other runs.
func newRunID() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("bench: run id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func (r *runner) clock() time.Duration { return time.Since(r.started) }

func (r *runner) execute(ctx context.Context) (Summary, error) {
	connectCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := ingest.CheckBroker(connectCtx, r.cfg.Brokers); err != nil {
		return Summary{}, err
	}
	partitions, err := ingest.PartitionCount(connectCtx, r.cfg.Brokers, r.cfg.Topics.Inputs())
	if err != nil {
		return Summary{}, err
	}
	nc, err := publish.Connect(connectCtx, r.cfg.NATSURL, "gridsession-bench", r.cfg.Log)
	if err != nil {
		return Summary{}, err
	}
	defer nc.Close()

	obs := newObserver(r.id, r.sent, r.clock, r.cfg.StateLatency)
	subject := obs.subscription(r.cfg.Subjects, r.tenant)
	sub, err := nc.Subscribe(subject, obs.handle)
	if err != nil {
		return Summary{}, fmt.Errorf("bench: subscribe to %s: %w", subject, err)
	}
	defer sub.Unsubscribe()
	// Without limits the subscriber never drops a message, which would
	// count as an event not folded; the run's length bounds the queue.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return Summary{}, fmt.Errorf("bench: subscribe to %s: %w", subject, err)
	}
	if err := nc.FlushWithContext(connectCtx); err != nil {
		return Summary{}, fmt.Errorf("bench: subscribe to %s: %w", subject, err)
	}

	producer := ingest.NewProducer(r.cfg.Brokers, r.cfg.Log)
	defer producer.Close()
	if err := r.warmUp(ctx, producer, obs, partitions); err != nil {
		return Summary{}, err
	}

	snd := newSender(producer, r.cfg.Topics, r.sent, r.clock, r.id, r.cfg)
	stopProgress := r.startProgress(snd, obs)
	defer stopProgress()
	if err := r.send(ctx, snd); err != nil {
		return Summary{}, err
	}
	if err := r.drain(ctx, obs, snd.events.Load()); err != nil {
		return Summary{}, err
	}
	settle(sub)
	stopProgress()

	s := r.summarize(snd, obs, partitions)
	if dropped, err := sub.Dropped(); err == nil {
		s.Dropped = int64(dropped)
	}
	if s.Missing > 0 {
		return s, fmt.Errorf("%w: %d of %d events did not arrive within %s of the last send", ErrNotObserved, s.Missing, s.EventsSent, r.cfg.DrainTimeout)
	}
	return s, nil
}

// send runs the source and the lanes until the run's limits end it.
func (r *runner) send(ctx context.Context, snd *sender) error {
	src := r.source()
	g, gctx := errgroup.WithContext(ctx)
	for _, lane := range snd.lanes {
		g.Go(func() error { return snd.runLane(gctx, lane) })
	}
	g.Go(func() error { return snd.generate(gctx, src) })
	return g.Wait()
}

func (r *runner) source() source {
	if len(r.cfg.Files) > 0 {
		return &fileSource{paths: r.cfg.Files, tenant: r.tenant, runID: r.id, now: time.Now}
	}
	return newSynthetic(r.tenant, r.id, r.cfg.OpenSessions, r.seed)
}

// drain waits until sent events have arrived or the drain timeout passes.
func (r *runner) drain(ctx context.Context, obs *observer, sent int64) error {
	deadline := time.NewTimer(r.cfg.DrainTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for obs.foldedCount() < sent {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-deadline.C:
			return nil
		case <-tick.C:
		}
	}
	return nil
}

// settle waits up to settleTimeout for the subscriber's queue to empty.
func settle(sub *nats.Subscription) {
	deadline := time.Now().Add(settleTimeout)
	for time.Now().Before(deadline) {
		n, _, err := sub.Pending()
		if err != nil || n == 0 {
			return
		}
		time.Sleep(pollInterval)
	}
}

// startProgress calls cfg.Progress every cfg.ProgressInterval until the
// returned function is called. That function waits for the last call to
// return and is safe to call more than once.
func (r *runner) startProgress(snd *sender, obs *observer) func() {
	if r.cfg.Progress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(r.cfg.ProgressInterval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				r.cfg.Progress(Progress{Elapsed: r.clock() - snd.firstEventSend(), Sent: snd.events.Load(), Folded: obs.foldedCount()})
			}
		}
	}()
	return sync.OnceFunc(func() {
		close(stop)
		<-done
	})
}

func (r *runner) summarize(snd *sender, obs *observer, partitions int) Summary {
	s := Summary{
		Source:       SourceSynthetic,
		Tenant:       r.tenant,
		Seed:         r.seed,
		Partitions:   partitions,
		TargetRate:   r.cfg.Rate,
		EventsSent:   snd.events.Load(),
		SessionsSent: snd.sessions.Load(),
		ClientsSent:  snd.clients.Load(),
	}
	if len(r.cfg.Files) > 0 {
		s.Source = SourceFiles
	}
	first, last := snd.firstEventSend(), snd.lastEventSend()
	s.SendSeconds = (last - first).Seconds()
	s.SendRate = perSecond(s.EventsSent, last-first)

	obs.mu.Lock()
	defer obs.mu.Unlock()
	s.EventsFolded = obs.folded
	s.Missing = s.EventsSent - obs.folded
	s.Duplicates = obs.duplicates
	if obs.folded > 0 {
		s.Seconds = (obs.lastObserved - first).Seconds()
		s.EventsPerSecond = perSecond(obs.folded, obs.lastObserved-first)
	}
	s.EventLatency = newLatency(&obs.eventLatencies)
	if r.cfg.StateLatency {
		l := newLatency(&obs.stateLatencies)
		s.StateLatency = &l
	}
	return s
}

// perSecond returns n divided by d in seconds, or 0 when d is not
// positive.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

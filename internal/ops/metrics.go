package ops

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/schemas"
)

// Stage names, as processor.BatchStats.Stage and the processor's hooks
// carry them.
const (
	StageSession = "session"
	StageSpace   = "space"
)

// rejectReasons lists the reasons a record can be rejected for, so that the
// rejection counters exist at zero before the first rejection.
var rejectReasons = []string{
	string(schemas.ReasonInvalidJSON),
	string(schemas.ReasonMissingField),
	string(schemas.ReasonInvalidField),
	string(schemas.ReasonUnknownRegion),
	string(schemas.ReasonOversized),
	string(schemas.ReasonLimitExceeded),
	processor.ReasonWrongKey,
	processor.ReasonWrongPartition,
}

// batchBuckets are the upper bounds of the batch commit latency histogram,
// in seconds: Prometheus's default buckets, which start at 5ms, with 1ms
// and 2.5ms added so that small batches on a local broker can be distinguished.
var batchBuckets = append([]float64{0.001, 0.0025}, prometheus.DefBuckets...)

// Metrics holds the Prometheus metrics of one worker. They live in a
// registry of their own rather than the global default one, so that two
// workers in one process (as in tests) do not collide. Its methods are
// safe for concurrent use.
type Metrics struct {
	registry *prometheus.Registry
	handler  http.Handler

	// stageTopics maps each stage to the topics it reads, and topicStage
	// maps each of those topics back to its stage.
	stageTopics map[string][]string
	topicStage  map[string]string

	applied       *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	duplicates    *prometheus.CounterVec
	skipped       *prometheus.CounterVec
	published     *prometheus.CounterVec
	batchDuration *prometheus.HistogramVec
	publishErrors prometheus.Counter
	owned         *prometheus.GaugeVec
	lag           *prometheus.GaugeVec
	lagErrors     prometheus.Counter

	// mu guards the lag state below.
	mu sync.Mutex
	// ownedBy maps each owned partition to the generation it was
	// assigned in.
	ownedBy map[stagePartition]int
	// appliedOffsets is the last offset applied per owned topic partition,
	// and endOffsets the latest end offset read from Kafka.
	appliedOffsets map[topicPartition]int64
	endOffsets     map[topicPartition]int64
}

type stagePartition struct {
	stage     string
	partition int
}

type topicPartition struct {
	topic     string
	partition int
}

// NewMetrics returns the metrics of a worker that reads topics, registered
// in a new registry together with the Go runtime and process collectors.
func NewMetrics(topics ingest.Topics) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		stageTopics: map[string][]string{
			StageSession: topics.Inputs(),
			StageSpace:   {topics.SpaceUpdates()},
		},
		topicStage:     map[string]string{},
		ownedBy:        map[stagePartition]int{},
		appliedOffsets: map[topicPartition]int64{},
		endOffsets:     map[topicPartition]int64{},
	}
	for stage, inputs := range m.stageTopics {
		for _, topic := range inputs {
			m.topicStage[topic] = stage
		}
	}

	m.newCollectors()
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.applied, m.rejected, m.duplicates, m.skipped, m.published,
		m.batchDuration, m.publishErrors, m.owned, m.lag, m.lagErrors,
	)
	m.initSeries()
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
	return m
}

func (m *Metrics) newCollectors() {
	m.applied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridsession_records_applied_total",
		Help: "Records folded into state and committed to Pebble, per stage and input topic. Duplicate events are included.",
	}, []string{"stage", "topic"})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridsession_records_rejected_total",
		Help: "Records sent to the dead-letter topic, per input topic and reason.",
	}, []string{"topic", "reason"})
	m.duplicates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridsession_records_duplicate_total",
		Help: "Events applied without effect because their captureId was among the latest applied to their session.",
	}, []string{"stage"})
	m.skipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridsession_records_skipped_total",
		Help: "Records read again at or below the offsets already stored, and skipped.",
	}, []string{"stage"})
	m.published = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridsession_nats_messages_published_total",
		Help: "NATS messages of committed batches, per stage.",
	}, []string{"stage"})
	m.batchDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gridsession_batch_commit_duration_seconds",
		Help:    "Time from the start of folding a batch to its Pebble commit, including the Kafka and NATS writes before the commit.",
		Buckets: batchBuckets,
	}, []string{"stage"})
	m.publishErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gridsession_nats_publish_errors_total",
		Help: "Failed NATS publish attempts. Each failure is retried, except for messages NATS cannot deliver at all, which are skipped.",
	})
	m.owned = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gridsession_partitions_owned",
		Help: "Partitions this worker owns, per stage.",
	}, []string{"stage"})
	m.lag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gridsession_consumer_lag_records",
		Help: "Records of an owned partition not applied yet: the end offset read from Kafka minus the next offset to apply.",
	}, []string{"stage", "topic", "partition"})
	m.lagErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gridsession_consumer_lag_read_errors_total",
		Help: "Failed reads of the end offsets behind gridsession_consumer_lag_records; while they fail the lag is stale.",
	})
}

// initSeries creates the series of every known label value at zero, so
// that rate() and alerts see them before the first increment.
func (m *Metrics) initSeries() {
	for stage, inputs := range m.stageTopics {
		m.duplicates.WithLabelValues(stage)
		m.skipped.WithLabelValues(stage)
		m.published.WithLabelValues(stage)
		m.batchDuration.WithLabelValues(stage)
		m.owned.WithLabelValues(stage)
		for _, topic := range inputs {
			m.applied.WithLabelValues(stage, topic)
		}
	}
	for _, topic := range m.stageTopics[StageSession] {
		for _, reason := range rejectReasons {
			m.rejected.WithLabelValues(topic, reason)
		}
	}
	for _, topic := range m.stageTopics[StageSpace] {
		m.rejected.WithLabelValues(topic, string(schemas.ReasonInvalidJSON))
	}
}

// Handler returns the /metrics handler in the Prometheus text and protobuf
// formats.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry returns the registry of the metrics, to register more
// collectors or to gather them in tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

func (m *Metrics) onBatch(s processor.BatchStats) {
	for topic, n := range s.Applied {
		m.applied.WithLabelValues(s.Stage, topic).Add(float64(n))
	}
	m.duplicates.WithLabelValues(s.Stage).Add(float64(s.Duplicates))
	m.skipped.WithLabelValues(s.Stage).Add(float64(s.Skipped))
	m.published.WithLabelValues(s.Stage).Add(float64(s.Published))
	m.batchDuration.WithLabelValues(s.Stage).Observe(s.Duration.Seconds())

	m.mu.Lock()
	defer m.mu.Unlock()
	for topic, offset := range s.Offsets {
		tp := topicPartition{topic, s.Partition}
		m.appliedOffsets[tp] = offset
		m.updateLagLocked(tp)
	}
}

// onRejected counts a rejection when the processor hands it to the
// dead-letter writer.
//
// NOTE: this happens before the batch commits. A batch cut short by a
// shutdown is read again by the next owner, so its rejections can count
// twice, as they can also reach the dead-letter topic twice.
func (m *Metrics) onRejected(r ingest.Rejection) {
	m.rejected.WithLabelValues(r.Record.Topic, r.Reason).Inc()
}

func (m *Metrics) onPublishError(int, error) { m.publishErrors.Inc() }

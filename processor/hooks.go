package processor

import (
	"time"

	"github.com/gridsession/gridsession/ingest"
)

// BatchStats describes one committed batch.
type BatchStats struct {
	// Stage is "session" or "space".
	Stage     string
	Partition int
	// Records is the number of records read, including skipped ones.
	Records int
	// Applied counts records folded into state; per topic.
	Applied map[string]int
	// Skipped counts records at or below the stored offset.
	Skipped int
	// Duplicates counts events whose captureId was already applied.
	Duplicates int
	// Rejected counts records sent to the dead-letter topic.
	Rejected  int
	Published int
	// Offsets maps each topic to the last offset the batch applied.
	Offsets map[string]int64
	// Duration is the time from fold start to the Pebble commit.
	Duration time.Duration
}

// Hooks are callbacks for lifecycle events, so that logs and metrics can
// follow the processor without it knowing about either. Each is optional
// and called from the partition's goroutine; it must not block.
type Hooks struct {
	OnAssigned     func(stage string, partition, generation int)
	OnRevoked      func(stage string, partition, generation int)
	OnBatch        func(BatchStats)
	OnRejected     func(ingest.Rejection)
	OnPublishError func(partition int, err error)
	// OnRestoreStart and OnRestoreDone bracket the restore of a partition's
	// state from its changelog, so readiness can wait for it.
	OnRestoreStart func(stage string, partition int)
	OnRestoreDone  func(stage string, partition int)
	// OnResumed receives the offsets a partition loop continues after, once
	// its store is open or restored and before its first fetch: per topic,
	// the last offset applied, absent for a topic with none. The hook must
	// not keep or modify applied. Consumer lag needs it for partitions that
	// receive no new records.
	//
	// TODO: the partition loop does not call it yet.
	OnResumed func(stage string, partition int, applied map[string]int64)
}

func (h Hooks) assigned(stage string, p, g int) {
	if h.OnAssigned != nil {
		h.OnAssigned(stage, p, g)
	}
}

func (h Hooks) revoked(stage string, p, g int) {
	if h.OnRevoked != nil {
		h.OnRevoked(stage, p, g)
	}
}

func (h Hooks) batch(s BatchStats) {
	if h.OnBatch != nil {
		h.OnBatch(s)
	}
}

func (h Hooks) rejected(r ingest.Rejection) {
	if h.OnRejected != nil {
		h.OnRejected(r)
	}
}

func (h Hooks) publishError(p int, err error) {
	if h.OnPublishError != nil {
		h.OnPublishError(p, err)
	}
}

func (h Hooks) restoreStart(stage string, p int) {
	if h.OnRestoreStart != nil {
		h.OnRestoreStart(stage, p)
	}
}

func (h Hooks) restoreDone(stage string, p int) {
	if h.OnRestoreDone != nil {
		h.OnRestoreDone(stage, p)
	}
}

func (h Hooks) resumed(stage string, p int, applied map[string]int64) {
	if h.OnResumed != nil {
		h.OnResumed(stage, p, applied)
	}
}

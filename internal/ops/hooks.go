package ops

import (
	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/processor"
)

// Hooks returns processor hooks that feed m and r, for
// processor.Config.Hooks. Either may be nil.
func Hooks(m *Metrics, r *Readiness) processor.Hooks {
	if m == nil && r == nil {
		return processor.Hooks{}
	}
	return processor.Hooks{
		OnAssigned: func(stage string, partition, generation int) {
			if m != nil {
				m.onAssigned(stage, partition, generation)
			}
			if r != nil {
				r.Assigned(stage, partition)
			}
		},
		OnRevoked: func(stage string, partition, generation int) {
			if m != nil {
				m.onRevoked(stage, partition, generation)
			}
			if r != nil {
				r.Revoked(stage, partition)
			}
		},
		OnBatch: func(s processor.BatchStats) {
			if m != nil {
				m.onBatch(s)
			}
		},
		OnRejected: func(rej ingest.Rejection) {
			if m != nil {
				m.onRejected(rej)
			}
		},
		OnPublishError: func(partition int, err error) {
			if m != nil {
				m.onPublishError(partition, err)
			}
		},
		OnRestoreStart: func(stage string, partition int) {
			if r != nil {
				r.RestoreStarted(stage, partition)
			}
		},
		OnRestoreDone: func(stage string, partition int) {
			if r != nil {
				r.RestoreDone(stage, partition)
			}
		},
		OnResumed: func(stage string, partition int, applied map[string]int64) {
			if m != nil {
				m.onResumed(stage, partition, applied)
			}
		},
	}
}

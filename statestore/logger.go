package statestore

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
)

// pebbleLogger passes Pebble's messages to zerolog. Pebble's informational
// messages (WAL recovery, format upgrades) go to debug level, so a store is
// quiet unless debug logging is on.
type pebbleLogger struct {
	log zerolog.Logger
}

// Infof logs an informational Pebble message at debug level.
func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug().Msgf(format, args...)
}

// Errorf logs a Pebble error message at error level.
func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error().Msgf(format, args...)
}

// Fatalf logs the message at fatal level and panics. Pebble calls it when it
// cannot continue, for example when a MANIFEST sync fails, and expects it not
// to return. A panic prints the message to stderr even when the logger
// discards it, where zerolog's Fatal would exit without output.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.WithLevel(zerolog.FatalLevel).Msg(msg)
	panic("statestore: pebble: " + msg)
}

// warnInterval is the minimum time between two warnings of one kind from
// one store. Pebble reports a stuck disk operation on every health-check
// tick, and a store that writes faster than it flushes stalls many times a
// second.
const warnInterval = time.Minute

// rateLimit passes at most one event per warnInterval and counts the events
// it drops in between. It is safe for concurrent use.
type rateLimit struct {
	last    atomic.Int64 // Unix nanoseconds of the last event passed
	dropped atomic.Int64 // events dropped since then
}

// allow reports whether an event at now may be logged and, if so, how many
// events were dropped since the previous one.
func (r *rateLimit) allow(now time.Time) (bool, int64) {
	last := r.last.Load()
	if now.UnixNano()-last < int64(warnInterval) || !r.last.CompareAndSwap(last, now.UnixNano()) {
		r.dropped.Add(1)
		return false, 0
	}
	return true, r.dropped.Swap(0)
}

// eventListener logs the Pebble events that an operator acts on.
func eventListener(logger zerolog.Logger) *pebble.EventListener {
	var slowDisk, writeStall rateLimit

	return &pebble.EventListener{
		BackgroundError: func(err error) {
			logger.Error().Err(err).Msg("pebble background error")
		},
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			logger.Error().Err(info.Details).Str("path", info.Path).Msg("pebble data corruption")
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			ok, dropped := slowDisk.allow(time.Now())
			if !ok {
				return
			}
			// Pebble calls DiskSlow from its disk monitor, which must not block
			// on I/O, so the log write happens on its own goroutine.
			go func() {
				logger.Warn().Str("path", info.Path).Dur("duration", info.Duration).
					Int64("dropped_warnings", dropped).Msg("slow disk")
			}()
		},
		LowDiskSpace: func(info pebble.LowDiskSpaceInfo) {
			logger.Warn().Uint64("avail_bytes", info.AvailBytes).Uint64("total_bytes", info.TotalBytes).Msg("low disk space")
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			if ok, dropped := writeStall.allow(time.Now()); ok {
				logger.Warn().Str("reason", info.Reason).Int64("dropped_warnings", dropped).
					Msg("pebble write stall began")
			}
		},
		WriteStallEnd: func() {
			logger.Debug().Msg("pebble write stall ended")
		},
	}
}

package statestore

import (
	"encoding/binary"
	"fmt"
)

// Timers are durable reminders: a timer is an instant and a reference that
// the caller chooses, such as the key of a row that expires then. They are
// stored in time order under their own meta prefix, so DueTimers reads only
// the timers that are due.
//
//	timer: 'm' 't' instant (8 bytes, big-endian) ref
const metaTimer = 't'

var timerPrefix = []byte{prefixMeta, metaTimer}

// Timer is one registered timer.
type Timer struct {
	// At is the instant, in the caller's unit (the processor uses
	// milliseconds since the Unix epoch).
	At  int64
	Ref string
}

func appendTimerKey(dst []byte, at int64, ref string) ([]byte, error) {
	if at < 0 {
		return dst, fmt.Errorf("%w: timer instant %d is negative", ErrInvalidKey, at)
	}
	if ref == "" {
		return dst, fmt.Errorf("%w: timer reference is empty", ErrInvalidKey)
	}
	dst = append(dst, timerPrefix...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(at))
	return append(dst, ref...), nil
}

// SetTimer registers a timer at instant at for ref. Registering the same
// instant and reference twice keeps one timer.
func (b *Batch) SetTimer(at int64, ref string) {
	b.timer(at, ref, false)
}

// DeleteTimer removes the timer at instant at for ref, if there is one.
func (b *Batch) DeleteTimer(at int64, ref string) {
	b.timer(at, ref, true)
}

func (b *Batch) timer(at int64, ref string, del bool) {
	if !b.usable() {
		return
	}
	key, err := appendTimerKey(b.key[:0], at, ref)
	if err != nil {
		b.err = err
		return
	}
	b.key = key

	if del {
		err = b.batch.Delete(key, nil)
	} else {
		err = b.batch.Set(key, nil, nil)
	}
	if err != nil {
		b.err = fmt.Errorf("statestore: timer %d %q: %w", at, ref, err)
	}
}

// DueTimers returns up to limit timers whose instant is at or before now,
// earliest first. The caller deletes a timer once it has handled it.
func (s *Store) DueTimers(now int64, limit int) ([]Timer, error) {
	var due []Timer
	err := s.scan(timerPrefix, func(key, _ []byte) error {
		if len(key) < len(timerPrefix)+8 {
			return fmt.Errorf("%w: timer key %q is too short", ErrCorrupt, key)
		}
		at := int64(binary.BigEndian.Uint64(key[len(timerPrefix):]))
		if at > now || len(due) >= limit {
			return errStopScan
		}
		due = append(due, Timer{At: at, Ref: string(key[len(timerPrefix)+8:])})
		return nil
	})
	if err != nil && err != errStopScan {
		return nil, err
	}
	return due, nil
}

// errStopScan ends a scan early without an error.
var errStopScan = fmt.Errorf("statestore: stop scan")

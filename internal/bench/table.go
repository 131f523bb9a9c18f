package bench

import (
	"sync"
	"time"
)

// tableChunkBits sets the size of one chunk of a sentTable: 65,536 events,
// 512 KiB.
const tableChunkBits = 16

// Entry values of a sentTable besides send times.
const (
	entryUnsent   = 0
	entryObserved = -1
)

// observation is the outcome of sentTable.observe for an event that
// arrived.
type observation int

const (
	// observedFirst is the first arrival of a sent event.
	observedFirst observation = iota
	// observedAgain is a later arrival of the same event.
	observedAgain
	// observedUnknown is an event that the table has no send time for.
	observedUnknown
)

// sentTable stores the send time of every event of a run by sequence
// number, in chunks allocated as the run goes, which takes 8 bytes an event
// instead of a map entry. It is safe for concurrent use.
type sentTable struct {
	mu sync.Mutex
	// chunks[i][j] is the entry of event i<<tableChunkBits + j. An entry
	// is entryUnsent, entryObserved, or that of a sent event: its send time
	// since the run's start plus one nanosecond, shifted left by one bit,
	// with the low bit set when the event changes the session state. The
	// extra nanosecond keeps a send at time zero apart from entryUnsent.
	chunks [][]int64
}

// markSent stores the send time of event seq, a time since the run's start,
// and whether the event changes the session state.
func (t *sentTable) markSent(seq int64, at time.Duration, changesState bool) {
	entry := (int64(at) + 1) << 1
	if changesState {
		entry |= 1
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	chunk := int(seq >> tableChunkBits)
	for len(t.chunks) <= chunk {
		t.chunks = append(t.chunks, make([]int64, 1<<tableChunkBits))
	}
	t.chunks[chunk][seq&(1<<tableChunkBits-1)] = entry
}

// observe marks event seq as arrived. On its first arrival it returns the
// send time, whether the event changes the session state, and
// observedFirst.
func (t *sentTable) observe(seq int64) (sent time.Duration, changesState bool, seen observation) {
	t.mu.Lock()
	defer t.mu.Unlock()
	chunk := int(seq >> tableChunkBits)
	if seq < 0 || chunk >= len(t.chunks) {
		return 0, false, observedUnknown
	}
	entry := &t.chunks[chunk][seq&(1<<tableChunkBits-1)]
	switch *entry {
	case entryUnsent:
		return 0, false, observedUnknown
	case entryObserved:
		return 0, false, observedAgain
	}
	sent = time.Duration(*entry>>1 - 1)
	changesState = *entry&1 == 1
	*entry = entryObserved
	return sent, changesState, observedFirst
}

package access

import (
	"container/list"
	"sync"
	"time"
)

// verifyCache remembers successful secret verifications for ttl, because
// each argon2id verification costs milliseconds of CPU and 19 MiB of
// memory, and a client may check the same key many times a second.
//
// Entries are keyed by an HMAC-SHA256, under a random key of the process,
// of the browser id and the secret, so the cache holds neither the secret
// nor a value that can be tested against guesses without that key. Each
// entry records the version of the key record it was verified against.
// Once any later record of the key is applied, such as its revocation, the
// versions differ and the entry no longer matches. The cache holds at most
// maxEntries entries and evicts the oldest first. A verifyCache is safe for
// concurrent use.
type verifyCache struct {
	ttl        time.Duration
	maxEntries int

	mu      sync.Mutex
	entries map[[32]byte]*list.Element
	// order holds the *cacheEntry values by expiry, earliest first.
	order *list.List
}

type cacheEntry struct {
	mac     [32]byte
	version uint64
	expires time.Time
}

func newVerifyCache(ttl time.Duration, maxEntries int) *verifyCache {
	return &verifyCache{ttl: ttl, maxEntries: maxEntries, entries: map[[32]byte]*list.Element{}, order: list.New()}
}

// hit reports whether mac was verified against record version within ttl
// before now.
func (c *verifyCache) hit(mac [32]byte, version uint64, now time.Time) bool {
	if c.ttl <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()

	elem := c.entries[mac]
	if elem == nil {
		return false
	}
	e := elem.Value.(*cacheEntry)
	if e.version != version || !now.Before(e.expires) {
		c.removeLocked(elem)
		return false
	}
	return true
}

// add records that mac was verified against record version at now.
func (c *verifyCache) add(mac [32]byte, version uint64, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()

	if elem := c.entries[mac]; elem != nil {
		c.removeLocked(elem)
	}
	c.evictLocked(now)
	c.entries[mac] = c.order.PushBack(&cacheEntry{mac: mac, version: version, expires: now.Add(c.ttl)})
}

// evictLocked removes the expired entries, which come first, and then the
// entries that expire soonest until there is room for one more. c.mu must
// be held.
func (c *verifyCache) evictLocked(now time.Time) {
	for front := c.order.Front(); front != nil; front = c.order.Front() {
		if now.Before(front.Value.(*cacheEntry).expires) && len(c.entries) < c.maxEntries {
			return
		}
		c.removeLocked(front)
	}
}

func (c *verifyCache) removeLocked(elem *list.Element) {
	e := c.order.Remove(elem).(*cacheEntry)
	delete(c.entries, e.mac)
}

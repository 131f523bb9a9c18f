package processor

import (
	"container/list"

	"github.com/gridsession/gridsession/projection"
)

// defaultCacheSessions is how many decoded sessions a partition keeps in
// memory between batches.
const defaultCacheSessions = 4096

// sessionCache keeps the most recently used decoded sessions of one
// partition, so a session that receives events in many batches is not read
// and decoded from Pebble each time.
//
// It holds the same objects the folder mutates, so it is only correct while
// every batch that mutated them either commits or ends the partition loop,
// which drops the cache with it. It is used by the partition's goroutine
// only.
type sessionCache struct {
	max   int
	order *list.List // front is the most recently used *cacheEntry
	items map[stateKey]*list.Element
}

type cacheEntry struct {
	key     stateKey
	session *projection.Session
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, order: list.New(), items: map[stateKey]*list.Element{}}
}

func (c *sessionCache) get(k stateKey) (*projection.Session, bool) {
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).session, true
}

func (c *sessionCache) put(k stateKey, s *projection.Session) {
	if el, ok := c.items[k]; ok {
		el.Value.(*cacheEntry).session = s
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&cacheEntry{key: k, session: s})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

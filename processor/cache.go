package processor

import "container/list"

// defaultCacheEntries is how many decoded sessions or spaces a partition
// keeps in memory between batches.
const defaultCacheEntries = 4096

// lru keeps the most recently used decoded state of one partition, so a
// session or space that changes in many batches is not read and decoded
// from Pebble each time.
//
// It holds the same objects the folder mutates, so it is only correct while
// every batch that mutated them either commits or ends the partition loop,
// which drops the cache with it. It is used by the partition's goroutine
// only.
type lru struct {
	max   int
	order *list.List // front is the most recently used *lruEntry
	items map[stateKey]*list.Element
}

type lruEntry struct {
	key   stateKey
	value any
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: map[stateKey]*list.Element{}}
}

func (c *lru) get(k stateKey) (any, bool) {
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry).value, true
}

func (c *lru) put(k stateKey, v any) {
	if el, ok := c.items[k]; ok {
		el.Value.(*lruEntry).value = v
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry{key: k, value: v})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}

package statestore

import (
	"runtime"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/rs/zerolog"
)

// Defaults sized for a process that runs many small stores, one per stage
// and partition (32 stores for two stages of 16 partitions).
const (
	// DefaultCacheSize is the block cache size in bytes of a store opened
	// without a shared Cache.
	DefaultCacheSize = 8 << 20

	// SharedMaxOpenFiles is the soft limit on the table files that all stores
	// sharing one Cache keep open together.
	SharedMaxOpenFiles = 1000

	// privateMaxOpenFiles is the soft limit on the files that a store without
	// a shared Cache keeps open. Pebble's default of 1000 per store would
	// allow tens of thousands of descriptors across 32 stores.
	privateMaxOpenFiles = 256

	// DefaultMemTableSize is the steady-state memtable size in bytes. Pebble
	// starts with 256 KiB and doubles up to this size. Writes to a store
	// stall while its queued memtables exceed memTableStopWrites times the
	// memtable size (8 MiB by default).
	DefaultMemTableSize = 2 << 20
	memTableStopWrites  = 4

	// bloomBitsPerKey sizes the bloom filter of each table file. Ten bits per
	// key give about 1% false positives, so a Get of a missing row, such as
	// the first record of a new session, rarely reads a data block.
	bloomBitsPerKey = 10

	// formatMajorVersion is the newest Pebble format of pebble/v2 v2.1.7.
	// It is pinned rather than set to pebble.FormatNewest, so upgrading
	// Pebble never ratchets the on-disk format without a change here. A
	// binary rolled back to the previous Pebble can then still open the store.
	formatMajorVersion = pebble.FormatValueSeparation
)

// Options configures a Store. The zero value is ready to use: a private
// cache, a synced commit for every batch, and no log output.
type Options struct {
	// Cache is the block cache and table-file cache shared by several stores.
	// Nil means the store creates a private block cache of DefaultCacheSize
	// bytes and a private file cache with a soft limit of 256 open files.
	Cache *Cache

	// NoSync skips the fsync of the write-ahead log on Commit. Use it only in
	// tests and benchmarks: an acknowledged commit may then be lost in any
	// crash, kill -9 included, although a reopened store still contains
	// whole batches only. By default every Commit is synced before it returns.
	NoSync bool

	// DisableWAL writes no write-ahead log, which also saves the disk space
	// Pebble reserves for log files, about the memtable size per file.
	// Commits are then kept only in memory until Flush writes them to table
	// files, and Close without a Flush loses them. It implies NoSync. Use it
	// only for a store that is rebuilt from scratch when a run fails, such
	// as a replay's.
	DisableWAL bool

	// MemTableSize is the steady-state memtable size in bytes; 0 means
	// DefaultMemTableSize. A larger memtable absorbs more rewrites of the
	// same rows before a flush and leaves less for compactions, at the cost
	// of memory: up to memTableStopWrites times this size per store.
	MemTableSize uint64

	// Logger receives Pebble's messages and events. Informational messages
	// go to debug level, background errors and corruption to error level,
	// and slow disks, low disk space and write stalls to warn level. Slow-disk
	// and write-stall warnings are limited to one a minute per store. The
	// zero value discards everything.
	Logger zerolog.Logger
}

// Cache is a block cache and a table-file cache that several stores share,
// so that the memory and open files of all stores in a process are bounded
// together. A Cache is safe for concurrent use.
type Cache struct {
	blocks *pebble.Cache
	files  *pebble.FileCache
}

// NewCache creates a Cache whose block cache holds up to size bytes,
// allocated on demand, and whose file cache keeps up to SharedMaxOpenFiles
// table files open. The caller owns one reference and releases it with Unref.
func NewCache(size int64) *Cache {
	blocks := pebble.NewCache(size)
	files := pebble.NewFileCache(runtime.GOMAXPROCS(0), SharedMaxOpenFiles)
	return &Cache{blocks: blocks, files: files}
}

// Unref releases the reference that NewCache returned. Call it once, after
// the last Open that uses c. Stores opened with c hold their own references
// until they are closed, so they keep working after Unref.
func (c *Cache) Unref() {
	c.files.Unref()
	c.blocks.Unref()
}

// pebbleOptions translates o into Pebble options. logger receives Pebble's
// messages and events.
func (o Options) pebbleOptions(logger zerolog.Logger) *pebble.Options {
	po := &pebble.Options{
		FormatMajorVersion:          formatMajorVersion,
		MemTableSize:                DefaultMemTableSize,
		MemTableStopWritesThreshold: memTableStopWrites,
		MaxOpenFiles:                privateMaxOpenFiles,
		Logger:                      pebbleLogger{log: logger},
		EventListener:               eventListener(logger),
	}
	if o.MemTableSize > 0 {
		po.MemTableSize = o.MemTableSize
	}
	po.DisableWAL = o.DisableWAL
	// Level 0's filter policy is inherited by every lower level.
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)

	if o.Cache != nil {
		po.Cache = o.Cache.blocks
		po.FileCache = o.Cache.files
	} else {
		po.CacheSize = DefaultCacheSize
	}
	return po
}

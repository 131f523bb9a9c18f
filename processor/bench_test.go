package processor

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/statestore"
)

// BenchmarkFoldAndCommit measures one event through decode, validation, the
// reducers, state encoding and the Pebble commit, in batches of 1000 spread
// over 2000 sessions, the way a partition loop processes them. NATS and
// Kafka are left out.
func BenchmarkFoldAndCommit(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			benchmarkFold(b, !sync)
		})
	}
}

func benchmarkFold(b *testing.B, noSync bool) {
	w := &Worker{cfg: Config{Topics: ingest.Topics{Prefix: "bench"}, DataDir: b.TempDir(), Projection: projection.Config{ContactKey: []byte("bench-contact-key-0123456789")}}}
	w.cfg.setDefaults()
	store, err := statestore.Open(StoreDir(w.cfg.DataDir, 0), statestore.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	p := &partition{w: w, stage: sessionStage{w}, num: 0, store: store, applied: map[string]int64{}, cache: newLRU(defaultCacheEntries)}

	const sessions, batchSize = 2000, 1000
	types := []string{"PRODUCT_VIEW", "PRODUCT_VIEW", "CART_ADD", "PRODUCT_VIEW", "CART_REMOVE", "SEARCH"}
	records := make([]ingest.Record, batchSize)
	var bytes int64
	fill := func(batch int) {
		for i := range records {
			n := batch*batchSize + i
			session := fmt.Sprintf("5b6c1e2a-7d0f-4c8e-9a1b-%012d", n%sessions)
			value := fmt.Sprintf(`{"tenantId":"rees46","eventTime":"2019-10-01T00:%02d:%02dZ","dataResidency":"EU","sessionId":%q,"clientId":"541312140","eventType":%q,"productId":"4460%04d","categoryId":"2103807459595387724","int1":1,"int2":3579,"str1":"shoes","captureId":"bench-%d"}`,
				(n/60)%60, n%60, session, types[n%len(types)], n%50, n)
			records[i] = ingest.Record{Topic: w.cfg.Topics.Events(), Offset: int64(n), Key: []byte(session), Value: []byte(value), Time: time.Unix(1569888000, 0)}
		}
	}
	fill(0)
	for _, r := range records {
		bytes += int64(len(r.Value))
	}

	b.SetBytes(bytes / batchSize)
	b.ReportAllocs()
	b.ResetTimer()
	for done, batch := 0, 0; done < b.N; batch++ {
		b.StopTimer()
		fill(batch)
		b.StartTimer()

		f := p.stage.newBatch(p).(*sessionBatch)
		n := min(batchSize, b.N-done)
		for _, rec := range records[:n] {
			if err := f.fold(rec); err != nil {
				b.Fatal(err)
			}
		}
		out := f.output()
		ch, err := f.encode()
		if err != nil {
			b.Fatal(err)
		}
		sb := store.NewBatch()
		ch.apply(sb)
		for topic, off := range out.stats.Offsets {
			sb.SetOffset(topic, off)
		}
		if err := sb.Commit(); err != nil {
			b.Fatal(err)
		}
		sb.Close()
		for topic, off := range out.stats.Offsets {
			p.applied[topic] = off
		}
		f.committed()
		if f.stats.Rejected > 0 {
			b.Fatalf("%d records rejected: %v", f.stats.Rejected, f.rejections[0].Err)
		}
		done += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

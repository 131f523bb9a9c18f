package client_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gridsession/gridsession/client"
	"github.com/gridsession/gridsession/schemas"
)

// These benchmarks run against the embedded servers and the worker that
// TestMain starts, with Pebble commits synced to disk. Each reports latency
// percentiles in microseconds next to ns/op.

func benchClient(b *testing.B) *client.Client {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(ctx, client.Config{Brokers: brokers, NATSURL: natsURL, Tenant: "shop", Region: "EU"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// reportPercentiles adds the 50th and 99th percentile and the maximum of
// latencies to the benchmark's output.
func reportPercentiles(b *testing.B, latencies []time.Duration) {
	b.Helper()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	at := func(q float64) float64 {
		i := min(int(q*float64(len(latencies))), len(latencies)-1)
		return float64(latencies[i].Microseconds())
	}
	b.ReportMetric(at(0.50), "p50-us")
	b.ReportMetric(at(0.99), "p99-us")
	b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds()), "max-us")
}

// BenchmarkGetSessionState measures one get of a session with a cart of
// 10 products and 5 searches, one request at a time.
func BenchmarkGetSessionState(b *testing.B) {
	c := benchClient(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Each run of the benchmark function adds to its own session.
	session := fmt.Sprint("bench-get-", time.Now().UnixNano())
	for i := range 10 {
		sendEvent(ctx, c, session, schemas.Event{EventType: schemas.EventCartAdd, ProductID: fmt.Sprint("p", i)})
	}
	for i := range 5 {
		sendEvent(ctx, c, session, schemas.Event{EventType: schemas.EventSearch, Str1: ptr(fmt.Sprint("query ", i))})
	}
	waitForState(b, func() bool {
		answer, err := c.GetSessionState(ctx, session)
		return err == nil && len(answer.Session.Search) == 5
	})

	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := c.GetSessionState(ctx, session); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, latencies)
}

// BenchmarkGetSpaceStateBySpace measures one get of a space's state with an
// access key that the worker has verified before, so the argon2id hash is
// not computed again.
func BenchmarkGetSpaceStateBySpace(b *testing.B) {
	c := benchClient(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	startSession(ctx, c, "bench-space-session", "bench-space")
	sendEvent(ctx, c, "bench-space-session", schemas.Event{EventType: schemas.EventCartAdd, ProductID: "p1"})
	waitForState(b, func() bool {
		state, err := c.GetSpaceStateBySpace(ctx, username, password, "bench-space")
		return err == nil && len(state.Cart) == 1
	})

	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := c.GetSpaceStateBySpace(ctx, username, password, "bench-space"); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, latencies)
}

// BenchmarkSendEventToCallback sends CART_ADD events at a steady rate over
// 64 sessions of one space and measures the time from each event's
// scheduled send to its arrival at a space event subscription's callback.
// Latency counts from the schedule, not from the call, so a send that
// waits for a free sender counts its wait. With -benchtime 50000x the
// rate=5000 case runs for 10 seconds.
func BenchmarkSendEventToCallback(b *testing.B) {
	for _, rate := range []int{200, 5000} {
		b.Run(fmt.Sprint("rate=", rate), func(b *testing.B) { benchmarkSendToCallback(b, rate) })
	}
}

// benchmarkSendToCallback runs BenchmarkSendEventToCallback at rate events
// a second.
func benchmarkSendToCallback(b *testing.B, rate int) {
	c := benchClient(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	space := fmt.Sprint("bench-rate-", time.Now().UnixNano())
	sessions := make([]string, 64)
	for i := range sessions {
		sessions[i] = fmt.Sprint(space, "-s", i)
		startSession(ctx, c, sessions[i], space)
	}
	// Events reach the space subject only once the session records are
	// folded; the last session's first event shows that.
	sendEvent(ctx, c, sessions[len(sessions)-1], schemas.Event{EventType: schemas.EventCartAdd, ProductID: "warm-up"})
	waitForState(b, func() bool {
		rows, err := c.GetSpaceStateRowsBySpace(ctx, username, password, space)
		return err == nil && len(rows.Cart) == 1
	})

	var (
		mu        sync.Mutex
		scheduled = make(map[string]time.Time, b.N)
		latencies = make([]time.Duration, 0, b.N)
		done      = make(chan struct{})
		// acks are the times from the scheduled send to Kafka's
		// acknowledgement.
		acks = make([]time.Duration, 0, b.N)
	)
	sub, err := c.CreateSpaceEventSubscription(ctx, username, password, space)
	if err != nil {
		b.Fatal(err)
	}
	err = sub.Subscribe(func(e schemas.Event) {
		mu.Lock()
		defer mu.Unlock()
		at, ok := scheduled[e.CaptureID]
		if !ok {
			return
		}
		delete(scheduled, e.CaptureID)
		latencies = append(latencies, time.Since(at))
		if len(latencies) == b.N {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Stop()

	// Senders wait for Kafka's acknowledgement, which takes a produce
	// batch of at least 5ms, so many of them run at once.
	type job struct {
		event schemas.Event
		at    time.Time
	}
	jobs := make(chan job, 1024)
	var senders sync.WaitGroup
	for range 256 {
		senders.Go(func() {
			for j := range jobs {
				if err := c.SendEvent(ctx, j.event); err != nil {
					b.Error(err)
				}
				ack := time.Since(j.at)
				mu.Lock()
				acks = append(acks, ack)
				mu.Unlock()
			}
		})
	}

	b.ResetTimer()
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := range b.N {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		e := schemas.Event{
			CaptureID: fmt.Sprint(space, "-", i),
			SessionID: sessions[i%len(sessions)],
			ClientID:  "client-1",
			EventTime: eventTime,
			EventType: schemas.EventCartAdd,
			ProductID: fmt.Sprint("p", i%50),
		}
		mu.Lock()
		scheduled[e.CaptureID] = at
		mu.Unlock()
		jobs <- job{event: e, at: at}
	}
	close(jobs)
	senders.Wait()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	b.StopTimer()

	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(float64(len(scheduled)), "lost")
	reportPercentiles(b, latencies)
	slices.Sort(acks)
	if len(acks) > 0 {
		b.ReportMetric(float64(acks[len(acks)/2].Microseconds()), "ack-p50-us")
	}
}

// waitForState polls cond for up to 30 seconds.
func waitForState(b *testing.B, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("state not reached within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package projection_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

// benchEvents returns n CART_ADD records that differ in captureId and cycle
// through 10 products, as a shopper's session produces them.
func benchEvents(n int) [][]byte {
	events := make([][]byte, n)
	for i := range events {
		events[i] = fmt.Appendf(nil, `{"tenantId":"tenant-1","sessionId":"7f3c2a9e-5d1b-4c8a-9e2f-1a2b3c4d5e6f",`+
			`"clientId":"client-42","dataResidency":"EU","eventTime":"2019-10-01T12:00:%02d.123Z",`+
			`"eventType":"CART_ADD","interaction":true,"ip":"192.0.2.1","productId":"product-%d","int1":2,`+
			`"captureId":"0d8e7c6b-5a49-4382-9716-%012d"}`, i%60, i%10, i)
	}
	return events
}

// BenchmarkDecodeAndReduce decodes a CART_ADD event and applies it to a
// session whose captureId window is full, the steady state of a long session.
// More distinct records than the window holds keep every event a new one.
func BenchmarkDecodeAndReduce(b *testing.B) {
	events := benchEvents(4 * projection.DefaultCaptureWindow)
	v := schemas.NewValidator()
	cfg := projection.Config{}
	recordTime := time.Date(2019, 10, 1, 12, 0, 30, 0, time.UTC)
	s := &projection.Session{}
	for _, data := range events {
		e, err := v.DecodeEvent(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := projection.ApplyEvent(s, e, recordTime, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(events[0])))

	i := 0
	for b.Loop() {
		e, err := v.DecodeEvent(events[i%len(events)])
		if err != nil {
			b.Fatal(err)
		}
		changes, err := projection.ApplyEvent(s, e, recordTime, cfg)
		if err != nil || changes.Duplicate {
			b.Fatalf("event %d: %+v, %v", i, changes, err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMarshal measures the encoding that the caller writes after each
// batch, for the session left by BenchmarkDecodeAndReduce's warm-up.
func BenchmarkMarshal(b *testing.B) {
	v := schemas.NewValidator()
	s := &projection.Session{}
	for _, data := range benchEvents(projection.DefaultCaptureWindow) {
		e, err := v.DecodeEvent(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := projection.ApplyEvent(s, e, time.Time{}, projection.Config{}); err != nil {
			b.Fatal(err)
		}
	}
	encoded, err := projection.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(encoded)))
	for b.Loop() {
		if _, err := projection.Marshal(s); err != nil {
			b.Fatal(err)
		}
	}
}

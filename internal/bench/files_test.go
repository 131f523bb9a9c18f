package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

const (
	sampleSessionA = "72d76fde-8bb3-4e00-8c23-a032dfed738c"
	sampleSessionB = "4adb70bb-edbd-4981-b60f-a05bfd32683a"
)

// writeSample writes a cosmetics-style CSV file of four rows in two
// sessions and returns its path.
func writeSample(t *testing.T) string {
	t.Helper()
	lines := []string{
		"event_time,event_type,product_id,price,user_id,user_session",
		"2022-10-01 00:00:00 UTC,view,5802432,0.32,463240011," + sampleSessionA,
		"2022-10-01 00:00:05 UTC,cart,5802432,0.32,463240011," + sampleSessionA,
		"2022-10-01 00:00:09 UTC,view,5844397,2.38,553329724," + sampleSessionB,
		"2022-10-01 00:01:00 UTC,remove_from_cart,5844397,2.38,553329724," + sampleSessionB,
	}
	path := filepath.Join(t.TempDir(), "sample.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// collect runs src until it has emitted n records and returns them.
func collect(t *testing.T, src source, n int) []record {
	t.Helper()
	var out []record
	err := src.run(context.Background(), func(r record) error {
		out = append(out, r)
		if len(out) == n {
			return errRunEnd
		}
		return nil
	})
	if !errors.Is(err, errRunEnd) {
		t.Fatalf("run = %v, want errRunEnd after %d records", err, n)
	}
	return out
}

func TestFileSourceRenamesEveryPass(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	src := &fileSource{paths: []string{writeSample(t)}, tenant: "t1", runID: "0a1b2c3d", now: func() time.Time { return now }}

	// A pass is 2 clients, 2 sessions and 6 events.
	records := collect(t, src, 20)
	validator := schemas.NewValidator()
	for i, r := range records {
		pass := "-0a1b2c3dp1"
		if i >= 10 {
			pass = "-0a1b2c3dp2"
		}
		switch {
		case r.client != nil:
			if !strings.HasSuffix(r.client.ClientID, pass) {
				t.Errorf("record %d: clientId %q, want suffix %q", i, r.client.ClientID, pass)
			}
			if err := validator.ValidateClient(r.client); err != nil {
				t.Errorf("record %d: %v", i, err)
			}
		case r.session != nil:
			s := r.session
			if !strings.HasSuffix(s.SessionID, pass) || !strings.HasSuffix(s.ClientID, pass) {
				t.Errorf("record %d: sessionId %q, clientId %q, want suffix %q", i, s.SessionID, s.ClientID, pass)
			}
			if err := validator.ValidateSession(s); err != nil {
				t.Errorf("record %d: %v", i, err)
			}
		case r.event != nil:
			e := r.event
			if !strings.HasSuffix(e.SessionID, pass) || !strings.HasSuffix(e.ClientID, pass) {
				t.Errorf("record %d: sessionId %q, clientId %q, want suffix %q", i, e.SessionID, e.ClientID, pass)
			}
			if e.CaptureID != "" {
				t.Errorf("record %d: captureId %q, want it cleared", i, e.CaptureID)
			}
			if e.EventType == schemas.EventContactIdentify && !strings.HasSuffix(*e.Str2, pass) {
				t.Errorf("record %d: CONTACT_IDENTIFY str2 %q, want suffix %q", i, *e.Str2, pass)
			}
			e.CaptureID = "c1"
			if err := validator.ValidateEvent(e); err != nil {
				t.Errorf("record %d: %v", i, err)
			}
		}
	}

	// The last row of the file falls on the start of the pass.
	last := records[9].event
	if last == nil || last.EventTime != "2026-12-04T12:00:00Z" {
		t.Errorf("last event of the pass = %+v, want eventTime 2026-12-04T12:00:00Z", last)
	}
}

func TestFileSourceWithoutRowsFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.csv")
	header := "event_time,event_type,product_id,price,user_id,user_session\r\n2022-10-01 00:00:00 UTC,unknown,1,0.32,1,x"
	if err := os.WriteFile(path, []byte(header), 0o644); err != nil {
		t.Fatal(err)
	}
	src := &fileSource{paths: []string{path}, tenant: "t1", runID: "0a1b2c3d", now: time.Now}
	err := src.run(context.Background(), func(record) error { return nil })
	if !errors.Is(err, errNoRows) {
		t.Fatalf("run = %v, want errNoRows", err)
	}
}

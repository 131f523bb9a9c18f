package rees46

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	multiHeader    = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
	cosmeticHeader = "event_time,event_type,product_id,price,user_id,user_session"
	sessionA       = "72d76fde-8bb3-4e00-8c23-a032dfed738c"
	sessionB       = "4adb70bb-edbd-4981-b60f-a05bfd32683a"
)

// writeCSV writes lines joined by CRLF, without a line end after the last
// line, and returns the path and the captureId prefix of the file.
func writeCSV(t *testing.T, name string, lines ...string) (path, fileID string) {
	t.Helper()
	content := strings.Join(lines, "\r\n")
	path = filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return path, "rees46-" + hex.EncodeToString(sum[:8])
}

// scanAll runs Scan and collects the emitted records.
func scanAll(t *testing.T, paths []string, opts Options) ([]Record, Summary) {
	t.Helper()
	var records []Record
	summary, err := Scan(context.Background(), paths, opts, func(r Record) error {
		records = append(records, r)
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return records, summary
}

func TestScanMapsEveryEventType(t *testing.T) {
	path, id := writeCSV(t, "multi.csv",
		multiHeader,
		"2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312147,"+sessionA,
		"2019-10-01 00:00:05 UTC,cart,44600062,2103807459595387724,,shiseido,5,541312147,"+sessionA,
		"2019-10-01 00:00:09 UTC,remove_from_cart,44600062,,,,0.5,541312147,"+sessionA,
		"2019-10-01 00:01:00 UTC,purchase,44600062,2103807459595387724,,shiseido,35.79,541312147,"+sessionA,
	)
	records, summary := scanAll(t, []string{path}, Options{})

	want := []struct {
		kind  Kind
		key   string
		value string
	}{
		{KindClient, "541312147", `{"tenantId":"rees46","clientId":"541312147","clientCreated":"2019-10-01T00:00:00Z","clientUserAgent":"rees46-loader","dataResidency":"EU","country":"DE","captureId":"` + id + `-1-client"}`},
		{KindSession, sessionA, `{"tenantId":"rees46","sessionId":"` + sessionA + `","sessionCreated":"2019-10-01T00:00:00Z","environment":"production","dataResidency":"EU","country":"DE","spaceId":"store-7","appId":"rees46","appVersion":"1","installationId":"541312147","installationVersion":"1","deviceId":"541312147","clientId":"541312147","captureId":"` + id + `-1-session"}`},
		{KindEvent, sessionA, `{"captureId":"` + id + `-1-identify","clientId":"541312147","dataResidency":"EU","eventTime":"2019-10-01T00:00:00Z","eventType":"CONTACT_IDENTIFY","interaction":false,"ip":"","productId":"","sessionId":"` + sessionA + `","tenantId":"rees46","str1":"CLIENT_ID","str2":"541312147"}`},
		{KindEvent, sessionA, `{"captureId":"` + id + `-1","clientId":"541312147","dataResidency":"EU","eventTime":"2019-10-01T00:00:00Z","eventType":"PRODUCT_VIEW","interaction":false,"ip":"","productId":"44600062","sessionId":"` + sessionA + `","tenantId":"rees46","categoryId":"2103807459595387724","int2":3579}`},
		{KindEvent, sessionA, `{"captureId":"` + id + `-2","clientId":"541312147","dataResidency":"EU","eventTime":"2019-10-01T00:00:05Z","eventType":"CART_ADD","interaction":false,"ip":"","productId":"44600062","sessionId":"` + sessionA + `","tenantId":"rees46","categoryId":"2103807459595387724","int1":1,"int2":500}`},
		{KindEvent, sessionA, `{"captureId":"` + id + `-3","clientId":"541312147","dataResidency":"EU","eventTime":"2019-10-01T00:00:09Z","eventType":"CART_REMOVE","interaction":false,"ip":"","productId":"44600062","sessionId":"` + sessionA + `","tenantId":"rees46","int1":1,"int2":50}`},
		{KindEvent, sessionA, `{"captureId":"` + id + `-4","clientId":"541312147","dataResidency":"EU","eventTime":"2019-10-01T00:01:00Z","eventType":"PURCHASE","interaction":false,"ip":"","productId":"44600062","sessionId":"` + sessionA + `","tenantId":"rees46","categoryId":"2103807459595387724","int2":3579}`},
	}
	if len(records) != len(want) {
		t.Fatalf("got %d records, want %d", len(records), len(want))
	}
	for i, w := range want {
		got := records[i]
		if got.Kind != w.kind || got.Key != w.key {
			t.Errorf("record %d is %s key %q, want %s key %q", i, got.Kind, got.Key, w.kind, w.key)
		}
		if string(got.Value) != w.value {
			t.Errorf("record %d value\n got %s\nwant %s", i, got.Value, w.value)
		}
	}

	if !records[6].Time.Equal(time.Date(2019, 10, 1, 0, 1, 0, 0, time.UTC)) {
		t.Errorf("purchase Time = %v", records[6].Time)
	}
	if summary.Rows != 4 || summary.Sessions != 1 || summary.Clients != 1 {
		t.Errorf("summary rows %d sessions %d clients %d, want 4, 1, 1", summary.Rows, summary.Sessions, summary.Clients)
	}
	if summary.Records[KindClient] != 1 || summary.Records[KindSession] != 1 || summary.Records[KindEvent] != 5 {
		t.Errorf("summary records = %v", summary.Records)
	}
	wantTypes := map[string]int{"CONTACT_IDENTIFY": 1, "PRODUCT_VIEW": 1, "CART_ADD": 1, "CART_REMOVE": 1, "PURCHASE": 1}
	for eventType, n := range wantTypes {
		if summary.EventTypes[eventType] != n {
			t.Errorf("summary event types = %v, want %v", summary.EventTypes, wantTypes)
			break
		}
	}
	if !summary.MaxTime.Equal(time.Date(2019, 10, 1, 0, 1, 0, 0, time.UTC)) {
		t.Errorf("summary MaxTime = %v", summary.MaxTime)
	}
}

func TestScanOptions(t *testing.T) {
	path, _ := writeCSV(t, "cosmetics.csv",
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,cart,5773203,2.62,463240011,"+sessionA,
	)
	records, _ := scanAll(t, []string{path}, Options{Tenant: "acme", Region: "US", Country: "CA"})
	for _, r := range records {
		v := string(r.Value)
		if !strings.Contains(v, `"tenantId":"acme"`) || !strings.Contains(v, `"dataResidency":"US"`) {
			t.Errorf("%s record without the tenant and region options: %s", r.Kind, v)
		}
		if r.Kind != KindEvent && !strings.Contains(v, `"country":"CA"`) {
			t.Errorf("%s record without the country option: %s", r.Kind, v)
		}
	}

	_, err := Scan(context.Background(), []string{path}, Options{Tenant: "a.b"}, func(Record) error { return nil }, nil)
	if err == nil || !strings.Contains(err.Error(), "tenantId") {
		t.Errorf("tenant with '.': err = %v, want an error naming tenantId", err)
	}
}

func TestScanRejectsBadRows(t *testing.T) {
	good := "2019-10-01 00:00:00 UTC,view,1,2,,,1.00,10,"
	path, id := writeCSV(t, "bad.csv",
		multiHeader,
		"2019-10-01 00:00:00 UTC,view,1,2,,,1.00,10,"+sessionA+"gg",
		"2019-10-01 00:00 UTC,view,1,2,,,1.00,10,"+sessionA,
		"2019-10-01 00:00:00 UTC,view,1,2,,,\"1,5\",10,"+sessionA,
		"2019-10-01 00:00:00 UTC,view,1,2,,,1.00,10",
		"2019-10-01 00:00:00 UTC,wishlist,1,2,,,1.00,10,"+sessionA,
		"2019-10-01 00:00:00 UTC,view,1,2,,,1.00,ten,"+sessionA,
		"2019-10-01 00:00:00 UTC,view,1.5,2,,,1.00,10,"+sessionA,
		"2019-10-01 00:00:00 UTC,view,1,2 3,,,1.00,10,"+sessionA,
		"2019-10-01 00:00:00 UTC,view,1,2,,a\"b,1.00,10,"+sessionA,
		good+sessionA,
	)
	records, summary := scanAll(t, []string{path}, Options{})

	want := map[string]int{
		RejectInvalidSession:    1,
		RejectInvalidEventTime:  1,
		RejectInvalidPrice:      1,
		RejectColumnCount:       1,
		RejectUnknownEventType:  1,
		RejectInvalidUserID:     1,
		RejectInvalidProductID:  1,
		RejectInvalidCategoryID: 1,
		RejectMalformedCSV:      1,
	}
	for reason, n := range want {
		if summary.Rejected[reason] != n {
			t.Errorf("rejected %q = %d, want %d", reason, summary.Rejected[reason], n)
		}
	}
	if len(summary.Rejected) != len(want) {
		t.Errorf("rejected = %v, want %v", summary.Rejected, want)
	}
	if summary.Rows != 10 {
		t.Errorf("rows = %d, want 10", summary.Rows)
	}

	// The good row comes after nine bad ones and keeps its row number.
	if len(records) != 4 {
		t.Fatalf("got %d records, want 4 for the last row", len(records))
	}
	if !strings.Contains(string(records[3].Value), `"captureId":"`+id+`-10"`) {
		t.Errorf("event of row 10 = %s", records[3].Value)
	}
	if summary.Sessions != 1 || summary.Clients != 1 {
		t.Errorf("sessions %d clients %d, want 1 and 1: rejected rows announce nothing", summary.Sessions, summary.Clients)
	}
}

func TestScanDuplicateRows(t *testing.T) {
	row := "2022-10-01 00:00:00 UTC,cart,5773203,2.62,463240011," + sessionA
	path, id := writeCSV(t, "dup.csv", cosmeticHeader, row, row)
	records, summary := scanAll(t, []string{path}, Options{})

	if summary.Records[KindEvent] != 3 {
		t.Fatalf("events = %d, want 3: identify and two cart adds", summary.Records[KindEvent])
	}
	first, second := string(records[3].Value), string(records[4].Value)
	if !strings.Contains(first, `"captureId":"`+id+`-1"`) || !strings.Contains(second, `"captureId":"`+id+`-2"`) {
		t.Errorf("duplicate rows share a captureId:\n%s\n%s", first, second)
	}
	if strings.Replace(first, id+"-1", id+"-2", 1) != second {
		t.Errorf("duplicate rows differ beyond the captureId:\n%s\n%s", first, second)
	}
}

func TestScanLineEnds(t *testing.T) {
	rows := []string{
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,view,1,2.62,463240011," + sessionA,
		"2022-10-01 00:00:01 UTC,view,2,2.62,463240011," + sessionA,
	}
	contents := map[string]string{
		"crlf without final line end": strings.Join(rows, "\r\n"),
		"crlf with final line end":    strings.Join(rows, "\r\n") + "\r\n",
		"lf":                          strings.Join(rows, "\n") + "\n",
		"blank lines":                 strings.Join(rows, "\r\n\r\n") + "\r\n\r\n",
	}
	for name, content := range contents {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.csv")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			records, summary := scanAll(t, []string{path}, Options{})
			if summary.Rows != 2 || len(summary.Rejected) != 0 || len(records) != 5 {
				t.Errorf("rows %d, rejected %v, records %d; want 2 rows, none rejected, 5 records", summary.Rows, summary.Rejected, len(records))
			}
			if strings.Contains(string(records[len(records)-1].Value), "\r") {
				t.Errorf("carriage return left in %s", records[len(records)-1].Value)
			}
		})
	}
}

func TestScanAnnouncesOnceAcrossFiles(t *testing.T) {
	first, _ := writeCSV(t, "first.csv",
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,view,1,2.62,463240011,"+sessionA,
	)
	second, _ := writeCSV(t, "second.csv",
		multiHeader,
		"2022-11-01 00:00:00 UTC,view,1,,,,2.62,463240011,"+sessionA,
		"2022-11-01 00:00:00 UTC,view,1,,,,2.62,463240011,"+sessionB,
	)
	records, summary := scanAll(t, []string{first, second}, Options{})

	kinds := make([]Kind, len(records))
	for i, r := range records {
		kinds[i] = r.Kind
	}
	want := []Kind{KindClient, KindSession, KindEvent, KindEvent, KindEvent, KindSession, KindEvent, KindEvent}
	if len(kinds) != len(want) {
		t.Fatalf("kinds = %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("kinds = %v, want %v", kinds, want)
		}
	}
	if summary.Files != 2 || summary.Sessions != 2 || summary.Clients != 1 {
		t.Errorf("files %d sessions %d clients %d, want 2, 2, 1", summary.Files, summary.Sessions, summary.Clients)
	}
}

func TestScanNewClientInKnownSession(t *testing.T) {
	path, _ := writeCSV(t, "f.csv",
		cosmeticHeader,
		"2019-10-01 02:27:45 UTC,view,1,2.62,555463297,"+sessionA,
		"2019-10-01 02:28:27 UTC,view,1,2.62,555463292,"+sessionA,
	)
	records, _ := scanAll(t, []string{path}, Options{})

	if len(records) != 6 {
		t.Fatalf("got %d records, want 6", len(records))
	}
	if records[4].Kind != KindClient || records[4].Key != "555463292" {
		t.Errorf("record 4 is %s %s, want the second client", records[4].Kind, records[4].Key)
	}
	if !strings.Contains(string(records[5].Value), `"clientId":"555463292"`) {
		t.Errorf("event of the second row = %s, want the row's own user_id", records[5].Value)
	}
}

func TestScanRebase(t *testing.T) {
	first, _ := writeCSV(t, "first.csv",
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,view,1,2.62,463240011,"+sessionA,
		"2022-10-01 00:10:00 UTC,view,1,2.62,463240011,"+sessionA,
	)
	second, _ := writeCSV(t, "second.csv",
		cosmeticHeader,
		"2022-10-01 00:20:00 UTC,view,1,2.62,463240011,"+sessionB,
		"2022-10-01 00:05:00 UTC,view,1,2.62,463240011,"+sessionB,
		// A rejected row does not count as the latest.
		"2022-10-01 09:00:00 UTC,view,1,2.62,463240011,"+sessionB+"gg",
	)
	now := time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	records, summary := scanAll(t, []string{first, second}, Options{RebaseTo: now})

	var eventTimes []time.Time
	for _, r := range records {
		if r.Kind == KindEvent {
			eventTimes = append(eventTimes, r.Time)
		}
	}
	want := []time.Time{
		now.Add(-20 * time.Minute), now.Add(-20 * time.Minute), now.Add(-10 * time.Minute),
		now, now, now.Add(-15 * time.Minute),
	}
	if len(eventTimes) != len(want) {
		t.Fatalf("event times = %v, want %v", eventTimes, want)
	}
	for i := range want {
		if !eventTimes[i].Equal(want[i]) {
			t.Errorf("event %d time = %v, want %v", i, eventTimes[i], want[i])
		}
	}
	if !summary.MaxTime.Equal(now) {
		t.Errorf("MaxTime = %v, want %v", summary.MaxTime, now)
	}
	if want := now.Sub(time.Date(2022, 10, 1, 0, 20, 0, 0, time.UTC)); summary.Shift != want {
		t.Errorf("Shift = %v, want %v", summary.Shift, want)
	}
	if !strings.Contains(string(records[0].Value), `"clientCreated":"2026-03-04T04:46:07.891Z"`) {
		t.Errorf("client record = %s, want the shifted time", records[0].Value)
	}
}

func TestScanStopsOnEmitError(t *testing.T) {
	path, _ := writeCSV(t, "f.csv",
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,view,1,2.62,463240011,"+sessionA,
		"2022-10-01 00:00:01 UTC,view,1,2.62,463240011,"+sessionA,
	)
	errFull := errors.New("queue full")
	calls := 0
	summary, err := Scan(context.Background(), []string{path}, Options{}, func(Record) error {
		calls++
		if calls == 2 {
			return errFull
		}
		return nil
	}, nil)
	if !errors.Is(err, errFull) {
		t.Fatalf("err = %v, want the emit error", err)
	}
	if calls != 2 {
		t.Errorf("emit called %d times after its error, want 2", calls)
	}
	if summary.Records[KindClient] != 1 || summary.Rows != 1 {
		t.Errorf("summary records %v rows %d, want 1 client record of row 1", summary.Records, summary.Rows)
	}
}

func TestScanFailsBeforeEmitting(t *testing.T) {
	good, _ := writeCSV(t, "good.csv",
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,view,1,2.62,463240011,"+sessionA,
	)
	missingPrice, _ := writeCSV(t, "missing.csv", "event_time,event_type,product_id,user_id,user_session")
	empty, _ := writeCSV(t, "empty.csv")
	tests := []struct {
		name  string
		paths []string
		want  error
	}{
		{"missing column", []string{good, missingPrice}, ErrMissingColumn},
		{"empty file", []string{good, empty}, ErrEmptyFile},
		{"missing file", []string{good, filepath.Join(t.TempDir(), "none.csv")}, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emitted := 0
			_, err := Scan(context.Background(), tt.paths, Options{}, func(Record) error {
				emitted++
				return nil
			}, nil)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if emitted != 0 {
				t.Errorf("emitted %d records before the error, want 0", emitted)
			}
		})
	}
}

func TestScanDetectsChangedFile(t *testing.T) {
	first, _ := writeCSV(t, "first.csv",
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,view,1,2.62,463240011,"+sessionA,
	)
	second, _ := writeCSV(t, "second.csv",
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,view,1,2.62,463240011,"+sessionB,
	)
	changed := false
	_, err := Scan(context.Background(), []string{first, second}, Options{}, func(Record) error {
		if !changed {
			changed = true
			return os.WriteFile(second, []byte(cosmeticHeader+"\r\n"), 0o644)
		}
		return nil
	}, nil)
	if !errors.Is(err, ErrFileChanged) {
		t.Errorf("err = %v, want ErrFileChanged", err)
	}
}

func TestScanCancelled(t *testing.T) {
	path, _ := writeCSV(t, "f.csv",
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,view,1,2.62,463240011,"+sessionA,
	)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Scan(ctx, []string{path}, Options{}, func(Record) error { return nil }, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestScanProgress(t *testing.T) {
	lines := []string{cosmeticHeader}
	for i := 0; i < 2500; i++ {
		lines = append(lines, "2022-10-01 00:00:00 UTC,view,1,2.62,463240011,"+sessionA)
	}
	path, _ := writeCSV(t, "f.csv", lines...)

	var calls []int
	_, err := Scan(context.Background(), []string{path}, Options{}, func(Record) error { return nil }, func(rows int) {
		calls = append(calls, rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1000, 2000, 2500}
	if len(calls) != len(want) || calls[0] != want[0] || calls[1] != want[1] || calls[2] != want[2] {
		t.Errorf("progress calls = %v, want %v", calls, want)
	}
}

func TestCountRows(t *testing.T) {
	first, _ := writeCSV(t, "first.csv",
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,view,1,2.62,463240011,"+sessionA,
		"bad,\"row",
	)
	second, _ := writeCSV(t, "second.csv",
		cosmeticHeader,
		"2022-10-01 00:00:00 UTC,view,1,2.62,463240011,"+sessionA,
		"a,b\"c",
		"too,few",
	)
	n, err := CountRows([]string{first, second})
	if err != nil {
		t.Fatal(err)
	}
	_, summary := scanAll(t, []string{first, second}, Options{})
	if n != summary.Rows || n != 5 {
		t.Errorf("CountRows = %d, Scan rows = %d, want 5 for both", n, summary.Rows)
	}
}

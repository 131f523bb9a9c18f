package rees46

import (
	"testing"
	"time"
)

func TestParseCents(t *testing.T) {
	tests := []struct {
		in    string
		cents int64
		ok    bool
	}{
		{"35.79", 3579, true},
		{"5", 500, true},
		{"0.5", 50, true},
		{"0", 0, true},
		{"0.00", 0, true},
		{"1234.56", 123456, true},
		{"007.10", 710, true},
		{"35.790", 3579, true},
		{"0.29", 29, true},
		{"9999999999999.99", 999999999999999, true},
		{"1,5", 0, false},
		{"35.795", 0, false},
		{"", 0, false},
		{".5", 0, false},
		{"5.", 0, false},
		{"-1.00", 0, false},
		{"+1", 0, false},
		{"1e3", 0, false},
		{" 5", 0, false},
		{"5.5.5", 0, false},
		{"NaN", 0, false},
		{"10000000000000", 0, false},
	}
	for _, tt := range tests {
		cents, ok := parseCents(tt.in)
		if ok != tt.ok {
			t.Errorf("parseCents(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if cents != tt.cents {
			t.Errorf("parseCents(%q) = %d, want %d", tt.in, cents, tt.cents)
		}
	}
}

func TestParseEventTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2019-10-01 00:00:00 UTC", time.Date(2019, 10, 1, 0, 0, 0, 0, time.UTC), true},
		{"2023-01-01 01:25:53 UTC", time.Date(2023, 1, 1, 1, 25, 53, 0, time.UTC), true},
		{"2019-10-01 00:00:00", time.Time{}, false},
		{"2019-10-01 00:00:00 CET", time.Time{}, false},
		{"2019-10-01T00:00:00Z", time.Time{}, false},
		{"2019-13-01 00:00:00 UTC", time.Time{}, false},
		{"2019-10-01 25:00:00 UTC", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseEventTime(tt.in)
		if ok != tt.ok {
			t.Errorf("parseEventTime(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseEventTime(%q) = %v, want %v in UTC", tt.in, got, tt.want)
		}
	}
}

func TestParseUUID(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"72d76fde-8bb3-4e00-8c23-a032dfed738c", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"091e110c-f7bd-47b5-bed8-3a3aba4232ddgg", false},
		{"72D76FDE-8BB3-4E00-8C23-A032DFED738C", false},
		{"72d76fde8bb34e008c23a032dfed738c", false},
		{"72d76fde-8bb3-4e00-8c23-a032dfed738", false},
		{"72d76fde-8bb3-4e00-8c23_a032dfed738c", false},
		{"g2d76fde-8bb3-4e00-8c23-a032dfed738c", false},
		{"", false},
	}
	for _, tt := range tests {
		if _, ok := parseUUID(tt.in); ok != tt.ok {
			t.Errorf("parseUUID(%q) ok = %v, want %v", tt.in, ok, tt.ok)
		}
	}

	id, _ := parseUUID("72d76fde-8bb3-4e00-8c23-a032dfed738c")
	want := [16]byte{0x72, 0xd7, 0x6f, 0xde, 0x8b, 0xb3, 0x4e, 0x00, 0x8c, 0x23, 0xa0, 0x32, 0xdf, 0xed, 0x73, 0x8c}
	if id != want {
		t.Errorf("parseUUID bytes = %x, want %x", id, want)
	}
}

func TestParseHeader(t *testing.T) {
	cols, err := parseHeader([]string{"\ufeffevent_time", "event_type", "product_id", "price", "user_id", "user_session"})
	if err != nil {
		t.Fatalf("parseHeader of the cosmetics columns: %v", err)
	}
	if cols.category != -1 {
		t.Errorf("category index = %d, want -1 without a category_id column", cols.category)
	}
	if cols.eventTime != 0 {
		t.Errorf("event_time index = %d, want 0 after the byte order mark", cols.eventTime)
	}

	cols, err = parseHeader([]string{"user_session", "user_id", "price", "brand", "category_code", "category_id", "product_id", "event_type", "event_time"})
	if err != nil {
		t.Fatalf("parseHeader of reordered columns: %v", err)
	}
	if cols.session != 0 || cols.category != 5 || cols.eventTime != 8 || cols.count != 9 {
		t.Errorf("reordered columns = %+v", cols)
	}
}

func TestParseHeaderErrors(t *testing.T) {
	_, err := parseHeader([]string{"event_time", "event_type", "product_id", "user_id", "user_session"})
	if err == nil || err.Error() != `rees46: missing column: "price"` {
		t.Errorf("missing price: err = %v", err)
	}
	_, err = parseHeader([]string{"event_time", "event_type", "product_id", "price", "price", "user_id", "user_session"})
	if err == nil || err.Error() != `rees46: duplicate column: "price"` {
		t.Errorf("duplicate price: err = %v", err)
	}
}

func TestParseRow(t *testing.T) {
	cols, err := parseHeader([]string{"event_time", "event_type", "product_id", "category_id", "category_code", "brand", "price", "user_id", "user_session"})
	if err != nil {
		t.Fatal(err)
	}
	valid := []string{"2019-10-01 00:00:00 UTC", "view", "44600062", "2103807459595387724", "", "shiseido", "35.79", "541312140", "72d76fde-8bb3-4e00-8c23-a032dfed738c"}
	with := func(col int, value string) []string {
		fields := append([]string(nil), valid...)
		fields[col] = value
		return fields
	}

	tests := []struct {
		name   string
		fields []string
		reason string
	}{
		{"valid", valid, ""},
		{"cart", with(cols.eventType, "cart"), ""},
		{"remove", with(cols.eventType, "remove_from_cart"), ""},
		{"purchase", with(cols.eventType, "purchase"), ""},
		{"empty category", with(cols.category, ""), ""},
		{"unknown type", with(cols.eventType, "wishlist"), RejectUnknownEventType},
		{"upper case type", with(cols.eventType, "VIEW"), RejectUnknownEventType},
		{"damaged session", with(cols.session, "091e110c-f7bd-47b5-bed8-3a3aba4232ddgg"), RejectInvalidSession},
		{"empty session", with(cols.session, ""), RejectInvalidSession},
		{"user id text", with(cols.userID, "abc"), RejectInvalidUserID},
		{"negative user id", with(cols.userID, "-5"), RejectInvalidUserID},
		{"user id overflow", with(cols.userID, "18446744073709551616"), RejectInvalidUserID},
		{"bad time", with(cols.eventTime, "2019-10-01 00:00"), RejectInvalidEventTime},
		{"comma price", with(cols.price, "1,5"), RejectInvalidPrice},
		{"empty price", with(cols.price, ""), RejectInvalidPrice},
		{"empty product", with(cols.productID, ""), RejectInvalidProductID},
		{"short row", valid[:8], RejectColumnCount},
		{"long row", append(append([]string(nil), valid...), "x"), RejectColumnCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, reason := parseRow(cols, tt.fields)
			if reason != tt.reason {
				t.Errorf("reason = %q, want %q", reason, tt.reason)
			}
		})
	}

	r, _ := parseRow(cols, valid)
	if r.eventType != "PRODUCT_VIEW" || r.cents != 3579 || r.userID != 541312140 || r.clientID != "541312140" ||
		r.productID != "44600062" || r.categoryID != "2103807459595387724" || !r.time.Equal(time.Date(2019, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("parsed row = %+v", r)
	}
}

func TestSpaceID(t *testing.T) {
	tests := map[uint64]string{0: "store-0", 541312140: "store-0", 555463297: "store-7", 18446744073709551615: "store-5"}
	for userID, want := range tests {
		if got := spaceID(userID); got != want {
			t.Errorf("spaceID(%d) = %q, want %q", userID, got, want)
		}
	}
}

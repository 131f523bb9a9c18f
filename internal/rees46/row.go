package rees46

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

// Reasons for rejecting a row, the keys of Summary.Rejected.
const (
	RejectMalformedCSV       = "malformed csv"
	RejectColumnCount        = "wrong column count"
	RejectInvalidSession     = "invalid user_session"
	RejectInvalidUserID      = "invalid user_id"
	RejectUnknownEventType   = "unknown event_type"
	RejectInvalidEventTime   = "invalid event_time"
	RejectInvalidPrice       = "invalid price"
	RejectInvalidProductID   = "invalid product_id"
	RejectInvalidCategoryID  = "invalid category_id"
	rejectInvalidFieldPrefix = "invalid "
)

// eventTypes maps the event_type values of the files to gridsession event
// types.
var eventTypes = map[string]string{
	"view":             schemas.EventProductView,
	"cart":             schemas.EventCartAdd,
	"remove_from_cart": schemas.EventCartRemove,
	"purchase":         schemas.EventPurchase,
}

// Column names in the header row.
const (
	colEventTime  = "event_time"
	colEventType  = "event_type"
	colProductID  = "product_id"
	colCategoryID = "category_id"
	colPrice      = "price"
	colUserID     = "user_id"
	colSession    = "user_session"
)

// requiredColumns are the columns every file must have. category_id is
// optional because the cosmetics files do not have it.
var requiredColumns = []string{colEventTime, colEventType, colProductID, colPrice, colUserID, colSession}

// columns holds the index of each known column in a file's rows. category
// is -1 when the file has no category_id column.
type columns struct {
	count     int
	eventTime int
	eventType int
	productID int
	category  int
	price     int
	userID    int
	session   int
}

// parseHeader finds the known columns in a header row. It fails when a
// required column is missing or a name appears twice.
func parseHeader(header []string) (columns, error) {
	index := make(map[string]int, len(header))
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff")
		}
		name = strings.TrimSpace(name)
		if _, dup := index[name]; dup {
			return columns{}, fmt.Errorf("%w: %q", ErrDuplicateColumn, name)
		}
		index[name] = i
	}
	for _, name := range requiredColumns {
		if _, ok := index[name]; !ok {
			return columns{}, fmt.Errorf("%w: %q", ErrMissingColumn, name)
		}
	}

	cols := columns{
		count:     len(header),
		eventTime: index[colEventTime],
		eventType: index[colEventType],
		productID: index[colProductID],
		category:  -1,
		price:     index[colPrice],
		userID:    index[colUserID],
		session:   index[colSession],
	}
	if i, ok := index[colCategoryID]; ok {
		cols.category = i
	}
	return cols, nil
}

// row is one parsed data row.
type row struct {
	time       time.Time
	eventType  string
	productID  string
	categoryID string
	cents      int64
	clientID   string
	userID     uint64
	sessionID  string
	session    [16]byte
}

// parseRow maps the fields of one data row. On failure it returns the
// rejection reason, one of the Reject constants.
func parseRow(cols columns, fields []string) (row, string) {
	if len(fields) != cols.count {
		return row{}, RejectColumnCount
	}

	var r row
	var ok bool
	r.sessionID = fields[cols.session]
	if r.session, ok = parseUUID(r.sessionID); !ok {
		return row{}, RejectInvalidSession
	}
	r.clientID = fields[cols.userID]
	if r.userID, ok = parseUserID(r.clientID); !ok {
		return row{}, RejectInvalidUserID
	}
	if r.eventType, ok = eventTypes[fields[cols.eventType]]; !ok {
		return row{}, RejectUnknownEventType
	}
	if r.time, ok = parseEventTime(fields[cols.eventTime]); !ok {
		return row{}, RejectInvalidEventTime
	}
	if r.cents, ok = parseCents(fields[cols.price]); !ok {
		return row{}, RejectInvalidPrice
	}
	r.productID = fields[cols.productID]
	if r.productID == "" {
		return row{}, RejectInvalidProductID
	}
	if cols.category >= 0 {
		r.categoryID = fields[cols.category]
	}
	return r, ""
}

// parseUUID decodes a UUID in its canonical text form: 36 characters,
// lowercase hex digits in groups of 8, 4, 4, 4 and 12 separated by '-'.
func parseUUID(s string) ([16]byte, bool) {
	var id [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, false
	}
	digits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return id, false
		}
	}
	if _, err := hex.Decode(id[:], []byte(digits)); err != nil {
		return id, false
	}
	return id, true
}

// parseUserID parses a decimal user id without sign into an integer.
func parseUserID(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// eventTimeLayout is the layout of event_time without its " UTC" suffix.
const eventTimeLayout = "2006-01-02 15:04:05"

// parseEventTime parses an event_time such as "2019-10-01 00:00:00 UTC". A
// time without the " UTC" suffix is rejected because its zone is unknown.
func parseEventTime(s string) (time.Time, bool) {
	local, ok := strings.CutSuffix(s, " UTC")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(eventTimeLayout, local)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// maxPriceDigits bounds the digits before the decimal point, so that the
// price in cents stays below 2^53, which JSON numbers carry exactly.
const maxPriceDigits = 13

// parseCents converts a non-negative decimal price such as "35.79", "5" or
// "0.5" to whole cents by reading its digits, so no floating-point rounding
// happens. More than two decimals are accepted only when the extra digits
// are zeros. A comma, a sign, an exponent or a missing digit on either side
// of the point makes the price invalid.
func parseCents(s string) (int64, bool) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || len(whole) > maxPriceDigits || !isDigits(whole) {
		return 0, false
	}
	if hasPoint && (frac == "" || !isDigits(frac)) {
		return 0, false
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 {
		return 0, false
	}
	frac += strings.Repeat("0", 2-len(frac))

	units, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	cents, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	return units*100 + cents, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// rejectReason names the column behind a record that failed validation,
// such as "invalid product_id" for a product id with a '.' in it.
func rejectReason(err error) string {
	var fe *schemas.FieldError
	if !errors.As(err, &fe) || fe.Field == "" {
		return rejectInvalidFieldPrefix + "record"
	}
	switch fe.Field {
	case "productId":
		return RejectInvalidProductID
	case "categoryId":
		return RejectInvalidCategoryID
	case "sessionId":
		return RejectInvalidSession
	case "clientId", "installationId", "deviceId":
		return RejectInvalidUserID
	}
	return rejectInvalidFieldPrefix + fe.Field
}

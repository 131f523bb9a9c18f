package projection

import (
	"errors"
	"strconv"

	"github.com/gridsession/gridsession/schemas"
)

var (
	// ErrNoContactKey is returned for a CONTACT_IDENTIFY event when
	// Config.ContactKey is empty, because the contact value must never be
	// stored in clear.
	ErrNoContactKey = errors.New("projection: contact key is not configured")
	// ErrWrongSession is returned when a record's tenant and id differ from
	// those of the state it is applied to.
	ErrWrongSession = errors.New("projection: record belongs to another session or client")
	// ErrCorrupt is returned by Unmarshal and UnmarshalClient for bytes that
	// are not a valid encoding.
	ErrCorrupt = errors.New("projection: corrupt state encoding")
)

// maxQuotedValue is how many bytes of a value an error quotes, as in schemas.
const maxQuotedValue = 64

// fieldError builds the error for an event field that the reducers reject,
// in the form that schemas uses for invalid records.
func fieldError(reason schemas.Reason, field, value, detail string) *schemas.FieldError {
	switch {
	case len(value) > maxQuotedValue:
		value = strconv.Quote(value[:maxQuotedValue]) + "..."
	case value != "":
		value = strconv.Quote(value)
	}
	return &schemas.FieldError{Reason: reason, Field: field, Value: value, Detail: detail}
}

// Package schemas defines the records that producers send (Client, Session,
// Event), their JSON decoding and validation, and the answer types that gets
// and subscriptions return. Field names follow the Session API.
//
// Decoding accepts a string or a number for clientUserAgent, environment and
// the event's sessionId and stores a string. Validation errors are
// *FieldError values that name the field, the value and a Reason code that
// the dead-letter topic and metrics use.
package schemas

// Package projection folds validated records into the state of one session
// or one client. The reducers are pure: they do no I/O, read no clock, start
// no goroutines and return the same result for the same input, so state can
// be rebuilt by replaying the log.
//
// ApplyEvent and ApplySession change a *Session in place and return Changes,
// which tell the caller what to publish. Marshal and Unmarshal convert a
// Session to and from the bytes that the state store keeps.
package projection

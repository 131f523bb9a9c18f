//go:build !linux

package bench

import "errors"

// errRSSUnsupported is returned by the RSS functions outside Linux.
var errRSSUnsupported = errors.New("bench: peak RSS is measured only on Linux")

// SelfMaxRSS returns the peak resident set size of this process in bytes.
// Outside Linux it returns an error.
func SelfMaxRSS() (int64, error) { return 0, errRSSUnsupported }

// ProcessMaxRSS returns the peak resident set size in bytes of process pid.
// Outside Linux it returns an error.
func ProcessMaxRSS(pid int) (int64, error) { return 0, errRSSUnsupported }

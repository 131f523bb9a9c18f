package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// SelfMaxRSS returns the peak resident set size of this process in bytes,
// from getrusage(RUSAGE_SELF), whose ru_maxrss Linux counts in KiB.
func SelfMaxRSS() (int64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("bench: getrusage: %w", err)
	}
	return ru.Maxrss << 10, nil
}

// ProcessMaxRSS returns the peak resident set size in bytes of process pid
// since it started, from the VmHWM line of /proc/PID/status.
func ProcessMaxRSS(pid int) (int64, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	status, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("bench: read peak RSS of process %d: %w", pid, err)
	}
	return parseVmHWM(status, path)
}

// parseVmHWM returns the VmHWM of a /proc/PID/status file in bytes. The
// kernel writes it as "VmHWM:<spaces>N kB", where kB means KiB.
func parseVmHWM(status []byte, path string) (int64, error) {
	lines := bufio.NewScanner(bytes.NewReader(status))
	for lines.Scan() {
		value, ok := strings.CutPrefix(lines.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("bench: %s: unexpected VmHWM line %q", path, lines.Text())
		}
		kib, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: %s: unexpected VmHWM line %q", path, lines.Text())
		}
		return kib << 10, nil
	}
	return 0, fmt.Errorf("bench: %s has no VmHWM line; is it a kernel thread?", path)
}

//go:build linux

package bench

import (
	"os"
	"testing"
)

func TestSelfMaxRSSPositive(t *testing.T) {
	rss, err := SelfMaxRSS()
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("SelfMaxRSS = %d bytes, want at least 1 MiB for a Go test binary", rss)
	}
}

func TestProcessMaxRSSOfSelf(t *testing.T) {
	rss, err := ProcessMaxRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("ProcessMaxRSS = %d bytes, want at least 1 MiB for a Go test binary", rss)
	}
}

func TestParseVmHWM(t *testing.T) {
	got, err := parseVmHWM([]byte("Name:\tworker\nVmPeak:\t  900 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n"), "status")
	if err != nil || got != 2048<<10 {
		t.Errorf("parseVmHWM = %d, %v, want %d", got, err, 2048<<10)
	}
	for _, bad := range []string{"Name:\tkthreadd\n", "VmHWM:\t12 MB\n", "VmHWM:\tlots kB\n"} {
		if _, err := parseVmHWM([]byte(bad), "status"); err == nil {
			t.Errorf("parseVmHWM(%q) = nil error, want one", bad)
		}
	}
}

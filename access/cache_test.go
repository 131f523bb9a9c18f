package access

import (
	"testing"
	"time"
)

func TestCacheHitWithinTTL(t *testing.T) {
	c := newVerifyCache(time.Minute, 10)
	mac := [32]byte{1}
	c.add(mac, 7, t0)

	if !c.hit(mac, 7, t0.Add(59*time.Second)) {
		t.Error("no hit within the TTL")
	}
	if c.hit([32]byte{2}, 7, t0) {
		t.Error("hit for another mac")
	}
	if c.hit(mac, 7, t0.Add(time.Minute)) {
		t.Error("hit after the TTL")
	}
}

func TestCacheMissAfterNewVersion(t *testing.T) {
	c := newVerifyCache(time.Minute, 10)
	mac := [32]byte{1}
	c.add(mac, 7, t0)

	if c.hit(mac, 8, t0) {
		t.Error("hit for a newer record version")
	}
	if c.hit(mac, 7, t0) {
		t.Error("entry is still there after a version mismatch")
	}
}

func TestCacheDisabled(t *testing.T) {
	c := newVerifyCache(0, 10)
	c.add([32]byte{1}, 1, t0)
	if c.hit([32]byte{1}, 1, t0) {
		t.Error("hit with a zero TTL")
	}
}

func TestCacheBoundsEntries(t *testing.T) {
	c := newVerifyCache(time.Minute, 5)
	for i := range 12 {
		c.add([32]byte{byte(i)}, 1, t0.Add(time.Duration(i)*time.Second))
	}
	if n := len(c.entries); n > 5 {
		t.Fatalf("cache has %d entries, expected at most 5", n)
	}
	if !c.hit([32]byte{11}, 1, t0.Add(11*time.Second)) {
		t.Error("the newest entry was evicted")
	}
	if c.hit([32]byte{0}, 1, t0.Add(11*time.Second)) {
		t.Error("the oldest entry was kept")
	}
}

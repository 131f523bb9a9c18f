package access

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"strings"

	"github.com/gridsession/gridsession/schemas"
)

// Reasons for a rejected check, as logged in the reason field.
const (
	reasonMalformedID     = "malformed_browser_id"
	reasonUnknownKey      = "unknown_key"
	reasonRevoked         = "revoked_key"
	reasonMalformedSecret = "malformed_access_key"
	reasonWrongSecret     = "wrong_access_key"
	reasonRateLimited     = "rate_limited"
	reasonOtherTenant     = "other_tenant"
	reasonSpaceRequired   = "space_required"
	reasonOtherSpace      = "space_not_allowed"
)

// maxLoggedBytes is how much of a caller's browser id, tenant or space a
// log line keeps.
const maxLoggedBytes = 64

// Check returns nil when secret is the access key of browserID and the key
// may read space of tenant. An empty space requests the whole tenant, which
// only a key without a list of spaces may read.
//
// Check returns ErrUnauthorized for an unknown browser id, a revoked key or
// a wrong access key. It returns ErrForbidden when the key is valid but
// issued for another tenant or other spaces. After the maximum number of
// failed checks of a browser id in the current window, it returns
// ErrRateLimited without hashing until the window has passed, unless the
// access key was verified within the cache TTL. It returns ctx.Err() when
// ctx ends while it waits for a hashing slot.
//
// Every rejection is logged with the browser id, tenant, space and reason,
// never the access key. The time of a rejection reveals whether the
// browser id has an active key, because unknown and revoked ids are
// rejected without hashing. Hashing for them would let anyone spend the
// workers' CPU with made-up ids, and browser ids are user names, not
// secrets.
func (r *Registry) Check(ctx context.Context, browserID, secret, tenant, space string) error {
	if !r.ready.Load() {
		return ErrNotStarted
	}
	if r.runCtx.Err() != nil {
		return ErrClosed
	}
	a := attempt{browserID: browserID, tenant: tenant, space: space}
	if schemas.CheckID("browserId", browserID) != nil {
		return r.reject(a, reasonMalformedID, ErrUnauthorized)
	}

	now := r.opts.now()
	e := r.lookup(browserID)
	mac := r.mac(browserID, secret)
	if e != nil && e.hash != nil && r.cache.hit(mac, e.version, now) {
		return r.authorize(e, a)
	}
	if r.limiter.blocked(browserID, now) {
		return r.reject(a, reasonRateLimited, ErrRateLimited)
	}

	reason, err := r.authenticate(ctx, e, secret)
	if err != nil {
		return err
	}
	if reason != "" {
		r.limiter.fail(browserID, now)
		return r.reject(a, reason, ErrUnauthorized)
	}
	r.limiter.reset(browserID)
	r.cache.add(mac, e.version, now)
	return r.authorize(e, a)
}

// attempt is the caller's part of a check, for the log.
type attempt struct {
	browserID string
	tenant    string
	space     string
}

// authenticate returns why secret does not match entry e, or "" when it
// does.
func (r *Registry) authenticate(ctx context.Context, e *entry, secret string) (string, error) {
	switch {
	case e == nil:
		return reasonUnknownKey, nil
	case e.hash == nil:
		return reasonRevoked, nil
	case !wellFormedSecret(secret):
		return reasonMalformedSecret, nil
	}

	select {
	case r.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	ok := e.hash.verify(secret)
	<-r.hashSlots
	if !ok {
		return reasonWrongSecret, nil
	}
	return "", nil
}

// authorize checks the scope of the authenticated key e.
func (r *Registry) authorize(e *entry, a attempt) error {
	if reason := e.key.denial(a.tenant, a.space); reason != "" {
		return r.reject(a, reason, ErrForbidden)
	}
	return nil
}

// reject counts and logs a rejected check and returns err.
func (r *Registry) reject(a attempt, reason string, err error) error {
	n := r.failures.Add(1)
	r.checkLog.Warn().
		Str("browser_id", logValue(a.browserID)).
		Str("tenant", logValue(a.tenant)).
		Str("space", logValue(a.space)).
		Str("reason", reason).
		Uint64("rejected_total", n).
		Msg("access check rejected")
	return err
}

// mac returns the cache key of browserID and secret: their HMAC-SHA256
// under the process's random key. Check has rejected browser ids with
// control characters, so the NUL separator keeps the pairs apart.
func (r *Registry) mac(browserID, secret string) [32]byte {
	h := hmac.New(sha256.New, r.macKey)
	h.Write([]byte(browserID))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// logValue shortens a caller's value for the log, and hides it when it
// contains the start of an access key, as when a client sends its key as
// the browser id.
func logValue(s string) string {
	if strings.Contains(s, secretPrefix) {
		return "[hidden: looks like an access key]"
	}
	if len(s) > maxLoggedBytes {
		return strings.ToValidUTF8(s[:maxLoggedBytes], "") + "..."
	}
	return s
}

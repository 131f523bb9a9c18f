package publish

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// Connection settings used by Connect.
const (
	// connectTimeout bounds one dial and handshake with one server.
	connectTimeout = 2 * time.Second

	// minRetryDelay and maxRetryDelay bound the exponential backoff
	// between connection attempts, before jitter.
	minRetryDelay = 100 * time.Millisecond
	maxRetryDelay = 5 * time.Second

	// pingInterval and maxPingsOutstanding make nats.go drop a silent
	// server after four ping intervals, one minute. Its defaults (two
	// minutes and two pings) take six minutes.
	pingInterval        = 15 * time.Second
	maxPingsOutstanding = 3

	// logPeriod rate-limits repeated failure logs to one per period.
	logPeriod = 10 * time.Second
)

// Connect opens a NATS connection to serverURL, which may list several
// servers separated by commas. The server's monitoring shows name as the
// connection's name.
//
// Connect retries with exponential backoff until the first connection
// succeeds or ctx ends. It then returns an error that names serverURL with
// its user info removed and wraps both ctx.Err() and the last connection
// error. Once connected, the client reconnects forever with the same
// backoff. Messages published while it is reconnecting fail at once instead
// of waiting in a buffer, because Publisher callers retry whole batches.
//
// Connection events go to log: connects, disconnects, reconnects, closing,
// and asynchronous errors such as a slow consumer. Failed connection
// attempts are logged at most once per 10 seconds, and so are asynchronous
// errors. Extra options are applied after the defaults and may
// override them, for example to add credentials or TLS. The caller closes
// the connection.
func Connect(ctx context.Context, serverURL, name string, log zerolog.Logger, opts ...nats.Option) (*nats.Conn, error) {
	redacted := redactURLs(serverURL)
	log = log.With().Str("nats_url", redacted).Str("nats_name", name).Logger()
	attemptLog := log.Sample(&zerolog.BurstSampler{Burst: 1, Period: logPeriod})
	asyncErrLog := log.Sample(&zerolog.BurstSampler{Burst: 1, Period: logPeriod})

	base := []nats.Option{
		nats.Name(name),
		nats.Timeout(connectTimeout),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(retryDelay),
		nats.ReconnectBufSize(-1),
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOutstanding),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				log.Info().Msg("nats disconnected")
				return
			}
			log.Warn().Err(err).Msg("nats connection lost, reconnecting")
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			attemptLog.Warn().Err(err).Msg("nats reconnect attempt failed")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("server_url", nc.ConnectedUrlRedacted()).Uint64("reconnects", nc.Stats().Reconnects).Msg("nats reconnected")
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Warn().Err(err).Msg("nats connection closed")
				return
			}
			log.Info().Msg("nats connection closed")
		}),
		nats.LameDuckModeHandler(func(*nats.Conn) {
			log.Info().Msg("nats server entered lame duck mode")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			event := asyncErrLog.Error().Err(err)
			if sub != nil {
				event = event.Str("subject", sub.Subject)
			}
			event.Msg("nats asynchronous error")
		}),
	}

	var lastErr error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, connectError(redacted, attempt-1, err, lastErr)
		}

		nc, err := connectOnce(ctx, serverURL, slices.Concat(base, opts))
		if err == nil {
			log.Info().Str("server_url", nc.ConnectedUrlRedacted()).Int("attempts", attempt).Msg("nats connected")
			return nc, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			if !errors.Is(err, ctxErr) {
				lastErr = err
			}
			return nil, connectError(redacted, attempt, ctxErr, lastErr)
		}
		lastErr = err
		attemptLog.Warn().Err(err).Int("attempt", attempt).Msg("nats connection attempt failed")

		t := time.NewTimer(retryDelay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, connectError(redacted, attempt, ctx.Err(), lastErr)
		case <-t.C:
		}
	}
}

func connectError(redactedURL string, attempts int, ctxErr, lastErr error) error {
	if lastErr == nil {
		return fmt.Errorf("publish: connect to nats at %s: %w", redactedURL, ctxErr)
	}
	return fmt.Errorf("publish: connect to nats at %s: gave up after %d attempts: %w; last error: %w", redactedURL, attempts, ctxErr, lastErr)
}

// connectOnce makes one connection attempt and returns early when ctx ends.
// nats.Connect takes no context, so the attempt goes on in the background
// for up to connectTimeout and a connection it opens too late is closed.
func connectOnce(ctx context.Context, serverURL string, opts []nats.Option) (*nats.Conn, error) {
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(serverURL, opts...)
		done <- result{nc, err}
	}()

	select {
	case r := <-done:
		return r.nc, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// retryDelay returns the wait before attempt+1: minRetryDelay doubled per
// attempt up to maxRetryDelay, plus up to 20% random jitter so that many
// workers do not retry in step.
func retryDelay(attempt int) time.Duration {
	d := maxRetryDelay
	if attempt < 16 {
		d = min(minRetryDelay<<max(attempt-1, 0), maxRetryDelay)
	}
	return d + rand.N(d/5+1)
}

// redactURLs replaces the user info of each comma-separated URL with
// "redacted", because it may hold a password or a token.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, part := range parts {
		part = strings.TrimSpace(part)
		at := strings.LastIndex(part, "@")
		if at < 0 {
			parts[i] = part
			continue
		}
		scheme, _, ok := strings.Cut(part[:at], "://")
		if !ok {
			scheme = ""
		} else {
			scheme += "://"
		}
		parts[i] = scheme + "redacted" + part[at:]
	}
	return strings.Join(parts, ",")
}

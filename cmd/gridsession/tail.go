package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gridsession/gridsession/publish"
)

// tailLine is one line that tail prints.
type tailLine struct {
	Subject string          `json:"subject"`
	Tenant  string          `json:"tenant"`
	Kind    string          `json:"kind"`
	ID      string          `json:"id"`
	Stream  string          `json:"stream"`
	Version uint64          `json:"version,omitempty"`
	Data    json.RawMessage `json:"data"`
}

func runTail(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("tail", "tail [--tenant T] [--session S | --space S] [flags]", stdout)
	natsURL := fs.String("nats", defaultNATS, "NATS server URL")
	tenant := fs.String("tenant", "rees46", "tenant to watch")
	session := fs.String("session", "", "watch only this session id")
	space := fs.String("space", "", "watch only this space id")
	subjectPrefix := fs.String("subject-prefix", publish.DefaultPrefix, "first token of every NATS subject")
	timeout := fs.Duration("timeout", 10*time.Second, "maximum time to connect to NATS")
	logLevel := fs.String("log-level", "warn", "log level on stderr, where losing and regaining the NATS connection is reported: trace, debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return fmt.Errorf("invalid --timeout %s: must be positive, such as 10s", *timeout)
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	if *session != "" && *space != "" {
		return fmt.Errorf("--session %q and --space %q: give at most one", *session, *space)
	}
	if *tenant == "" {
		return fmt.Errorf("--tenant must not be empty")
	}

	subjects := publish.Subjects{Prefix: *subjectPrefix}
	subject := subjects.Tenant(*tenant)
	switch {
	case *session != "":
		subject = subjects.Session(*tenant, *session)
	case *space != "":
		subject = subjects.Space(*tenant, *space)
	}

	connectCtx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	nc, err := publish.Connect(connectCtx, *natsURL, "gridsession-tail", log)
	if err != nil {
		return fmt.Errorf("%w (is gridsession dev running?)", err)
	}
	defer nc.Close()

	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		line := tailLine{Subject: m.Subject, Data: json.RawMessage(m.Data)}
		if addr, err := subjects.Parse(m.Subject); err == nil {
			line.Tenant, line.Kind, line.ID, line.Stream = addr.Tenant, string(addr.Kind), addr.ID, string(addr.Stream)
		}
		if v := m.Header.Get(publish.HeaderVersion); v != "" {
			line.Version, _ = strconv.ParseUint(v, 10, 64)
		}
		if !json.Valid(m.Data) {
			line.Data, _ = json.Marshal(string(m.Data))
		}
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(line)
	})
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", subject, err)
	}
	defer sub.Unsubscribe()
	if err := nc.FlushWithContext(connectCtx); err != nil {
		return fmt.Errorf("subscribe to %s: %w", subject, err)
	}

	fmt.Fprintf(os.Stderr, "watching %s on %s (Ctrl-C stops)\n", subject, *natsURL)
	<-ctx.Done()
	return nil
}

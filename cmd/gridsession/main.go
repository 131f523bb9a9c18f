// Command gridsession runs the gridsession stream processor and its tools.
//
// Subcommands:
//
//	dev    run an embedded Kafka-protocol broker, an embedded NATS server and a worker
//	run    run a worker against external Kafka and NATS
//	load   produce the REES46 clickstream CSV files to Kafka
//	tail   print state changes and events from NATS as JSON lines
//	replay rebuild all state from the Kafka log into a fresh data directory
//	keys   create, list and revoke the access keys for space reads
//	send   validate a client, session or event record and send it to Kafka
//	get    get the state of a session or space from the worker that owns it
//	watch  print the state changes or events of a session or space as JSON lines
//	bench  measure events/s folded and event latency end to end
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"dev", "run an embedded Kafka-protocol broker, an embedded NATS server and a worker on 127.0.0.1", runDev},
		{"run", "run a worker against external Kafka and NATS servers", runWorker},
		{"load", "produce REES46 clickstream CSV files to Kafka", runLoad},
		{"tail", "print state changes and events from NATS as JSON lines", runTail},
		{"replay", "rebuild all state from the Kafka log into a fresh data directory", runReplay},
		{"keys", "create, list and revoke the access keys for space reads", runKeys},
		{"send", "validate a client, session or event record and send it to Kafka", runSend},
		{"get", "get the state of a session or space from the worker that owns it", runGet},
		{"watch", "print the state changes or events of a session or space as JSON lines", runWatch},
		{"bench", "measure events/s folded and event latency end to end, from Kafka to NATS", runBench},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "gridsession keeps live shopper session state from Kafka in Pebble and pushes changes to NATS.")
	fmt.Fprintln(w, "\nUsage: gridsession COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-6s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'gridsession COMMAND -h' for the flags of a command. Every flag can also be set")
	fmt.Fprintln(w, "with an environment variable named GRIDSESSION_ plus the flag name in upper case,")
	fmt.Fprintln(w, "with '-' as '_' (for example GRIDSESSION_DATA_DIR).")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], os.Stdout)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		fmt.Fprintf(os.Stderr, "gridsession %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "gridsession: unknown command %q\n\n", args[0])
	usage(os.Stderr)
	return 2
}

// errUsage reports a flag error that the flag package already printed.
var errUsage = errors.New("usage error")

// newLogger writes zerolog JSON to stderr, or a console format when stderr
// is a terminal.
func newLogger(level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("invalid --log-level %q: want trace, debug, info, warn or error", level)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	var out io.Writer = os.Stderr
	if term.IsTerminal(int(os.Stderr.Fd())) {
		out = zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/rees46"
)

func runLoad(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("load", "load [flags] FILE...", stdout)
	brokers := listFlag{defaultKafka}
	fs.Var(&brokers, "kafka", "Kafka bootstrap brokers, comma-separated host:port")
	topicPrefix := fs.String("topic-prefix", ingest.DefaultPrefix, "prefix of the Kafka topic names")
	tenant := fs.String("tenant", rees46.DefaultTenant, "tenantId of every record")
	region := fs.String("region", rees46.DefaultRegion, "dataResidency of every record")
	country := fs.String("country", rees46.DefaultCountry, "country of every client and session")
	rebase := fs.Bool("rebase-time", false, "shift all times so the last row falls on the current time")
	quiet := fs.Bool("quiet", false, "show no progress bar")
	logLevel := fs.String("log-level", "warn", "log level: trace, debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) == 0 {
		return errors.New("no files given: gridsession load FILE.csv...")
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}

	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ingest.CheckBroker(connectCtx, brokers); err != nil {
		return fmt.Errorf("%w (is gridsession dev running?)", err)
	}

	opts := rees46.LoadOptions{
		Brokers: brokers,
		Topics:  ingest.Topics{Prefix: *topicPrefix},
		Scan:    rees46.Options{Tenant: *tenant, Region: *region, Country: *country},
	}
	if *rebase {
		opts.Scan.RebaseTo = time.Now().UTC()
	}
	if err := opts.Scan.Validate(); err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	if !*quiet {
		opts.Progress = func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionSetDescription("rows"), progressbar.OptionShowCount(),
					progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			_ = bar.Set(done)
		}
	}

	started := time.Now()
	summary, err := rees46.Load(ctx, paths, opts, log)
	if bar != nil {
		_ = bar.Finish()
	}
	if summary.Files > 0 {
		printSummary(stdout, summary, time.Since(started))
	}
	return err
}

func printSummary(w io.Writer, s rees46.Summary, took time.Duration) {
	records := s.Records[rees46.KindClient] + s.Records[rees46.KindSession] + s.Records[rees46.KindEvent]
	fmt.Fprintf(w, "files %d, rows %d, sessions %d, clients %d\n", s.Files, s.Rows, s.Sessions, s.Clients)
	fmt.Fprintf(w, "records sent %d: %d clients, %d sessions, %d events, in %s\n", records,
		s.Records[rees46.KindClient], s.Records[rees46.KindSession], s.Records[rees46.KindEvent], took.Round(time.Millisecond))
	if s.Shift != 0 {
		fmt.Fprintf(w, "times shifted by %s; last event at %s\n", s.Shift.Round(time.Second), s.MaxTime.Format(time.RFC3339))
	}
	rejected := 0
	reasons := make([]string, 0, len(s.Rejected))
	for r, n := range s.Rejected {
		rejected += n
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	fmt.Fprintf(w, "rows rejected %d\n", rejected)
	for _, r := range reasons {
		fmt.Fprintf(w, "  %-22s %d\n", r, s.Rejected[r])
	}
}

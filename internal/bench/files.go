package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gridsession/gridsession/internal/rees46"
	"github.com/gridsession/gridsession/schemas"
)

// errNoRows is returned by a file source whose files have no row that maps
// to an event, which would make it replay the files forever without
// sending anything.
var errNoRows = errors.New("bench: the files have no valid rows")

// fileSource replays REES46 CSV files with rees46.Scan, again and again until
// emit stops it. Each pass appends "-<run id>p<pass>" to every session and
// client id, so that each pass starts new sessions with empty state. Each
// pass also shifts the times so that the last row of the files falls on the
// start of the pass.
type fileSource struct {
	paths  []string
	tenant string
	runID  string
	now    func() time.Time
}

func (f *fileSource) run(ctx context.Context, emit func(record) error) error {
	for pass := 1; ; pass++ {
		suffix := "-" + f.runID + "p" + strconv.Itoa(pass)
		opts := rees46.Options{Tenant: f.tenant, RebaseTo: f.now().UTC()}
		summary, err := rees46.Scan(ctx, f.paths, opts, func(r rees46.Record) error {
			rec, err := renameRecord(r, suffix)
			if err != nil {
				return err
			}
			return emit(rec)
		}, nil)
		if err != nil {
			return err
		}
		if summary.Records[rees46.KindEvent] == 0 {
			return fmt.Errorf("%w: %d rows read, all rejected", errNoRows, summary.Rows)
		}
	}
}

// renameRecord decodes a record of rees46.Scan and appends suffix to its
// session and client ids, including the client id that a generated
// CONTACT_IDENTIFY event carries in str2. The event's captureId is cleared
// because Run sets its own.
func renameRecord(r rees46.Record, suffix string) (record, error) {
	switch r.Kind {
	case rees46.KindClient:
		var c schemas.Client
		if err := json.Unmarshal(r.Value, &c); err != nil {
			return record{}, fmt.Errorf("bench: decode client record %s: %w", r.Key, err)
		}
		c.ClientID += suffix
		return record{client: &c}, nil

	case rees46.KindSession:
		var s schemas.Session
		if err := json.Unmarshal(r.Value, &s); err != nil {
			return record{}, fmt.Errorf("bench: decode session record %s: %w", r.Key, err)
		}
		s.SessionID += suffix
		s.ClientID += suffix
		s.InstallationID += suffix
		s.DeviceID += suffix
		return record{session: &s}, nil

	case rees46.KindEvent:
		var e schemas.Event
		if err := json.Unmarshal(r.Value, &e); err != nil {
			return record{}, fmt.Errorf("bench: decode event record %s: %w", r.Key, err)
		}
		if e.EventType == schemas.EventContactIdentify && e.Str1 != nil && *e.Str1 == contactTypeClient && e.Str2 != nil {
			contact := *e.Str2 + suffix
			e.Str2 = &contact
		}
		e.SessionID += suffix
		e.ClientID += suffix
		e.CaptureID = ""
		return record{event: &e}, nil
	}
	return record{}, fmt.Errorf("bench: record %s of unknown kind %s", r.Key, r.Kind)
}

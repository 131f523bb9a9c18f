package embedded

import (
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
)

// loggerEnabled reports whether log writes at least errors. The zero
// zerolog.Logger writes nothing.
func loggerEnabled(log zerolog.Logger) bool {
	e := log.Error()
	defer e.Discard()
	return e.Enabled()
}

// kafkaLogger passes kfake's log lines to zerolog at the same level.
type kafkaLogger struct{ log zerolog.Logger }

func (l kafkaLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var zl zerolog.Level
	switch level {
	case kfake.LogLevelError:
		zl = zerolog.ErrorLevel
	case kfake.LogLevelWarn:
		zl = zerolog.WarnLevel
	case kfake.LogLevelInfo:
		zl = zerolog.InfoLevel
	case kfake.LogLevelDebug:
		zl = zerolog.DebugLevel
	default:
		return
	}
	l.log.WithLevel(zl).Str("component", "kfake").Msgf(format, args...)
}

// natsLogger passes nats-server's log lines to zerolog. A fatal server
// error is logged as an error, because an embedded server must not exit
// the process.
type natsLogger struct{ log zerolog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.logf(zerolog.InfoLevel, format, v) }
func (l natsLogger) Warnf(format string, v ...any)   { l.logf(zerolog.WarnLevel, format, v) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.logf(zerolog.ErrorLevel, format, v) }
func (l natsLogger) Errorf(format string, v ...any)  { l.logf(zerolog.ErrorLevel, format, v) }
func (l natsLogger) Debugf(format string, v ...any)  { l.logf(zerolog.DebugLevel, format, v) }
func (l natsLogger) Tracef(format string, v ...any)  { l.logf(zerolog.TraceLevel, format, v) }

func (l natsLogger) logf(level zerolog.Level, format string, v []any) {
	l.log.WithLevel(level).Str("component", "nats-server").Msgf(format, v...)
}

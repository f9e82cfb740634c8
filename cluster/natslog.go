package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// natsLog carries the embedded NATS server's log into the node's: its
// warnings and errors as such (but failed reconnections to a node that is
// down at debug level), its notices (routes, elections) at debug level,
// its traces not at all.
type natsLog struct{ log *slog.Logger }

func (l natsLog) line(level slog.Level, format string, v []any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, "nats: "+fmt.Sprintf(format, v...))
	}
}

func (l natsLog) Noticef(format string, v ...any) { l.line(slog.LevelDebug, format, v) }
func (l natsLog) Warnf(format string, v ...any) {
	level := slog.LevelWarn
	if strings.HasPrefix(format, "Plaintext passwords detected") {
		// The cluster secret is the routes' and the local client's
		// password, given by the operator as is; it never leaves the
		// cluster's own (optionally TLS) connections.
		level = slog.LevelDebug
	}
	l.line(level, format, v)
}
func (l natsLog) Fatalf(format string, v ...any) { l.line(slog.LevelError, format, v) }
func (l natsLog) Errorf(format string, v ...any) {
	level := slog.LevelError
	if strings.HasPrefix(format, "Error trying to connect to route") {
		level = slog.LevelDebug // a node that is down, retried every second
	}
	l.line(level, format, v)
}
func (l natsLog) Debugf(format string, v ...any) {}
func (l natsLog) Tracef(format string, v ...any) {}

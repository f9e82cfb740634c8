package main

import (
	"fmt"
	"time"

	"github.com/getsentry/sentry-go"

	"aperture/web"
)

// errorTracker sends 5xx answers and panics to a Sentry-compatible
// service through the maintained SDK (asynchronously: a request never
// waits on it). It returns the reporter and a flush to call at shutdown.
func errorTracker(dsn, environment string) (func(web.ErrorReport), func(), error) {
	// The SDK's newer telemetry buffer sometimes let Flush return before
	// an event captured just before it was sent (one test run in six);
	// the classic transport's Flush waits for every queued event.
	err := sentry.Init(sentry.ClientOptions{Dsn: dsn, Release: "aperture@" + version, Environment: environment,
		AttachStacktrace: true, SendDefaultPII: false, DisableTelemetryBuffer: true})
	if err != nil {
		return nil, nil, fmt.Errorf("error tracking: %w", err)
	}
	report := func(r web.ErrorReport) {
		hub := sentry.CurrentHub().Clone()
		hub.WithScope(func(scope *sentry.Scope) {
			scope.SetTag("request_id", r.RequestID)
			scope.SetTag("route", r.Method+" "+r.Route)
			scope.SetTag("status", fmt.Sprint(r.Status))
			if r.UserID != "" {
				scope.SetUser(sentry.User{ID: r.UserID})
			}
			if r.Stack != nil {
				scope.SetContext("panic", sentry.Context{"stack": string(r.Stack)})
			}
			hub.CaptureException(r.Err)
		})
	}
	return report, func() { sentry.Flush(3 * time.Second) }, nil
}

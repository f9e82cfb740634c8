package web

import "time"

// Helpers of the package's own tests that the external tests share.
var (
	HostileNexts = hostile
	ResolvesHome = resolvesHome
)

// SetAlertOutboxFresh changes how long one look at the outbox serves the
// alert rules, and returns a function that puts it back.
func SetAlertOutboxFresh(d time.Duration) func() {
	old := alertOutboxFresh
	alertOutboxFresh = d
	return func() { alertOutboxFresh = old }
}

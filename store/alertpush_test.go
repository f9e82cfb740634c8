package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"aperture/store"
)

// An alert is pushed to each of an administrator's browsers, whatever
// their quiet hours; anyone else is refused.
func TestPushAlertReachesAdminsOnly(t *testing.T) {
	f := newFixture(t)
	x := f.user("x", false)
	for _, u := range []*store.User{f.admin, f.admin, x} {
		do(f, store.SavePushSubscription{Meta: f.now(), Sub: store.PushSubscription{UserID: u.ID, Endpoint: "https://push.example/" + u.Username + f.at.String(),
			P256dh: strings.Repeat("k", 87), Auth: strings.Repeat("a", 22)}})
	}
	do(f, store.UpdatePreferences{Meta: f.now(), UserID: f.admin.ID, Prefs: store.Preferences{QuietFrom: "00:00", QuietTo: "23:59"}})
	n := do(f, store.PushAlert{Meta: f.now(), UserID: f.admin.ID, Title: "Firing: disk", Body: "disk-free-warning is 4 %", URL: "/admin/alerts"})
	if n != 2 {
		t.Fatalf("%d pushes queued, want 2 (the admin's two browsers)", n)
	}
	var bodies []string
	for _, j := range dueJobs(f.s, f.at) {
		var p store.PushJob
		if j.Kind == store.JobPush && j.Decode(&p) == nil {
			bodies = append(bodies, p.Title+"|"+p.URL)
		}
	}
	if len(bodies) != 2 || bodies[0] != "Firing: disk|/admin/alerts" {
		t.Fatalf("push jobs %q", bodies)
	}
	if _, err := store.Exec(context.Background(), f.s, store.PushAlert{Meta: f.now(), UserID: x.ID, Title: "t", URL: "/"}); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("pushing an alert to a non-admin: %v", err)
	}
	if _, err := store.Exec(context.Background(), f.s, store.PushAlert{Meta: f.now(), UserID: f.admin.ID, Title: "t", URL: "https://elsewhere"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("an alert linking off the site: %v", err)
	}
}

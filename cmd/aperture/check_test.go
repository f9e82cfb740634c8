package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"aperture/media"
	"aperture/store"
	"aperture/store/storetest"
)

// TestCheckReportsLag: pending index jobs show as a note on how far the
// search index lags, not as a problem.
func TestCheckReportsLag(t *testing.T) {
	dir := t.TempDir()
	st, err := storetest.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	start := time.Now()
	u, _ := store.Exec(ctx, st, store.CreateUser{Meta: store.At(start), Username: "ana", PasswordHash: "x"})
	store.Exec(ctx, st, store.UpdateProfile{Meta: store.At(start), UserID: u.ID, Bio: ptr("new bio")}) // queues an index job
	blobs := media.FileBlobs{Dir: t.TempDir()}
	collect := func(string, func() (bool, error)) error { return nil }
	rep, err := runCheck(ctx, st, blobs, collect, false, start.Add(90*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 0 || !strings.Contains(strings.Join(rep.Notes, "\n"), "the search index lags by 1m30s") {
		t.Fatalf("report: %+v", rep)
	}
}

func ptr[T any](v T) *T { return &v }

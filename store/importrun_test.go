package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestImportRuns: one import at a time per account, each step recorded
// and the next queued until it is done or failed, and a late step for a
// finished run changes nothing.
func TestImportRuns(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	now := time.Now()
	ana, _ := Exec(ctx, s, CreateUser{Meta: At(now), Username: "ana", PasswordHash: "h"})
	ben, _ := Exec(ctx, s, CreateUser{Meta: At(now), Username: "ben", PasswordHash: "h"})
	jobs := func() (n int) {
		for part := range s.Partitions() {
			due, _ := s.DueJobs(part, now.Add(time.Hour), 1000, nil)
			for _, j := range due {
				if j.Kind == JobImport {
					n++
				}
			}
		}
		return n
	}
	run, err := Exec(ctx, s, StartImport{Meta: At(now), UserID: ana.ID, Source: SourceInstagram, File: "a.zip"})
	if err != nil || run.State != ImportQueued || jobs() != 1 {
		t.Fatalf("start: %+v %v, %d jobs", run, err, jobs())
	}
	if _, err := Exec(ctx, s, StartImport{Meta: At(now), UserID: ana.ID, Source: SourceInstagram, File: "b.zip"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("a second import at once: %v", err)
	}
	if _, err := Exec(ctx, s, StartImport{Meta: At(now), UserID: ben.ID, Source: SourceAperture, File: "c.zip"}); err != nil {
		t.Fatalf("another account's import: %v", err)
	}
	for _, bad := range []StartImport{{Source: "flickr", File: "x"}, {Source: SourceInstagram}} {
		bad.Meta, bad.UserID = At(now), ben.ID
		if _, err := Exec(ctx, s, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	step, err := Exec(ctx, s, ImportStep{Meta: At(now), UserID: ana.ID, RunID: run.ID, Total: 10, Next: 4, Posts: 3, Photos: 5,
		Skipped: map[string]int{"video": 1}, Suggested: []string{"ben"}})
	if err != nil || step.State != ImportRunning || step.Next != 4 || jobs() != 3 {
		t.Fatalf("a step: %+v %v, %d jobs", step, err, jobs())
	}
	if active, _ := s.ActiveImports(ctx); len(active) != 2 {
		t.Fatalf("%d active imports, want 2", len(active))
	}
	done, err := Exec(ctx, s, ImportStep{Meta: At(now), UserID: ana.ID, RunID: run.ID, Total: 10, Next: 10, Posts: 8, Photos: 11, Done: true})
	if err != nil || done.State != ImportDone || done.Suggested[0] != "ben" || jobs() != 3 {
		t.Fatalf("the last step: %+v %v, %d jobs", done, err, jobs())
	}
	late, _ := Exec(ctx, s, ImportStep{Meta: At(now), UserID: ana.ID, RunID: run.ID, Next: 1, Error: "late"})
	if late.State != ImportDone || late.Next != 10 {
		t.Fatalf("a step after the end changed the run: %+v", late)
	}
	// The account may import again; its runs list newest first.
	again, err := Exec(ctx, s, StartImport{Meta: At(now), UserID: ana.ID, Source: SourceInstagram, File: "a.zip"})
	if err != nil {
		t.Fatal(err)
	}
	Exec(ctx, s, ImportStep{Meta: At(now), UserID: ana.ID, RunID: again.ID, Error: "The archive is damaged."})
	runs, _ := s.ImportRuns(ana.ID, 10)
	if len(runs) != 2 || runs[0].ID != again.ID || runs[0].State != ImportFailed || runs[1].State != ImportDone {
		t.Fatalf("ana's runs: %+v", runs)
	}
	if got, err := s.ImportRun(ana.ID, run.ID); err != nil || got.Posts != 8 {
		t.Fatalf("one run: %+v %v", got, err)
	}
}

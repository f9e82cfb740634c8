package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestExportRuns: one export at a time and one an hour; what an account
// wrote and liked is found wherever the posts live.
func TestExportRuns(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	now := time.Now()
	ana, _ := Exec(ctx, s, CreateUser{Meta: At(now), Username: "ana", PasswordHash: "h"})
	ben, _ := Exec(ctx, s, CreateUser{Meta: At(now), Username: "ben", PasswordHash: "h"})
	m, _ := Exec(ctx, s, CreateMedia{Meta: At(now), OwnerID: ben.ID, Hash: "ab" + "00000000000000000000000000000000000000000000000000000000000000", Width: 1, Height: 1})
	post, err := Exec(ctx, s, CreatePost{Meta: At(now), AuthorID: ben.ID, MediaIDs: []ID{m.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Exec(ctx, s, Like{Meta: At(now), UserID: ana.ID, PostID: post.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := Exec(ctx, s, AddComment{Meta: At(now), AuthorID: ana.ID, PostID: post.ID, Text: "lovely"}); err != nil {
		t.Fatal(err)
	}
	comments, likes, err := s.WrittenBy(ctx, ana.ID)
	if err != nil || len(comments) != 1 || comments[0].Text != "lovely" || len(likes) != 1 || likes[0].PostID != post.ID || likes[0].At.IsZero() {
		t.Fatalf("what ana wrote: %+v %+v %v", comments, likes, err)
	}

	run, err := Exec(ctx, s, StartExport{Meta: At(now), UserID: ana.ID})
	if err != nil || run.State != ImportQueued {
		t.Fatalf("start: %+v %v", run, err)
	}
	if _, err := Exec(ctx, s, StartExport{Meta: At(now), UserID: ana.ID}); !errors.Is(err, ErrConflict) {
		t.Fatalf("a second export at once: %v", err)
	}
	done, err := Exec(ctx, s, ExportDone{Meta: At(now), UserID: ana.ID, RunID: run.ID, File: "a.zip", Bytes: 10})
	if err != nil || done.State != ImportDone || done.Expires.Sub(now.Add(ExportKept)).Abs() > time.Millisecond {
		t.Fatalf("done: %+v %v", done, err)
	}
	if again, _ := Exec(ctx, s, ExportDone{Meta: At(now), UserID: ana.ID, RunID: run.ID, Error: "late"}); again.State != ImportDone {
		t.Fatalf("a late result changed the run: %+v", again)
	}
	if _, err := Exec(ctx, s, StartExport{Meta: At(now.Add(10 * time.Minute)), UserID: ana.ID}); !errors.Is(err, ErrConflict) {
		t.Fatalf("an export ten minutes after the last: %v", err)
	}
	if _, err := Exec(ctx, s, StartExport{Meta: At(now.Add(ExportEvery + time.Second)), UserID: ana.ID}); err != nil {
		t.Fatalf("an export an hour later: %v", err)
	}
	if runs, _ := s.ExportRuns(ana.ID, 5); len(runs) != 2 || runs[1].ID != run.ID {
		t.Fatalf("runs: %+v", runs)
	}
}

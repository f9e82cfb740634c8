package store

import (
	"context"
	"testing"
	"time"
)

// Suggestions puts friends of friends first (the most shared first), then
// the popular accounts given, by follower count, and leaves out the
// viewer, whom it follows, private, suspended and blocked accounts.
func TestSuggestions(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	ids := map[string]ID{}
	for _, name := range []string{"boss", "v", "f1", "f2", "x", "y", "z", "priv", "susp", "blk", "blocker", "pop1", "pop2", "fan1", "fan2", "fan3"} {
		u, err := Exec(ctx, s, CreateUser{Meta: At(time.Now()), Username: name, PasswordHash: "h", Admin: name == "boss"})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = u.ID
	}
	follow := func(a, b string) {
		t.Helper()
		if _, err := Exec(ctx, s, Follow{Meta: At(time.Now()), FollowerID: ids[a], TargetID: ids[b]}); err != nil {
			t.Fatalf("%s follows %s: %v", a, b, err)
		}
	}
	follow("v", "f1")
	follow("v", "f2")
	for _, b := range []string{"x", "y", "priv", "susp", "blk", "blocker", "v", "f2"} {
		follow("f1", b)
	}
	follow("f2", "x")
	follow("f2", "z")
	follow("fan1", "pop1")
	follow("fan2", "pop1")
	follow("fan3", "pop2")
	follow("fan1", "z") // z has more followers than y: it comes first among equals
	follow("fan1", "f2")
	private := true
	if _, err := Exec(ctx, s, UpdateProfile{Meta: At(time.Now()), UserID: ids["priv"], Private: &private}); err != nil {
		t.Fatal(err)
	}
	if _, err := Exec(ctx, s, SetSuspended{Meta: At(time.Now()), AdminID: ids["boss"], UserID: ids["susp"], Suspended: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Exec(ctx, s, Block{Meta: At(time.Now()), BlockerID: ids["v"], BlockedID: ids["blk"]}); err != nil {
		t.Fatal(err)
	}
	if _, err := Exec(ctx, s, Block{Meta: At(time.Now()), BlockerID: ids["blocker"], BlockedID: ids["v"]}); err != nil {
		t.Fatal(err)
	}
	Settle(t, s)

	popular := []ID{ids["pop2"], ids["x"], ids["v"], ids["f1"], ids["pop1"], ids["priv"]}
	got, err := s.Suggestions(ids["v"], popular, 10)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range got {
		names = append(names, g.User.Username)
	}
	want := []string{"x", "z", "y", "pop1", "pop2"}
	if len(names) != len(want) {
		t.Fatalf("suggested %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("suggested %v, want %v", names, want)
		}
	}
	if got[0].Via != 2 || got[0].ViaName != "f2" || got[1].Via != 1 || got[3].Via != 0 {
		t.Fatalf("x via %d (%q), z via %d, pop1 via %d", got[0].Via, got[0].ViaName, got[1].Via, got[3].Via)
	}
	if short, _ := s.Suggestions(ids["v"], popular, 2); len(short) != 2 {
		t.Fatalf("a limit of 2 gave %d", len(short))
	}
	// Following a suggestion takes it off the list.
	follow("v", "x")
	Settle(t, s)
	if again, _ := s.Suggestions(ids["v"], popular, 10); len(again) != 4 || again[0].User.Username != "z" {
		t.Fatalf("after following x: %d suggestions, first %s", len(again), again[0].User.Username)
	}
}

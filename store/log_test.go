package store

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"
)

// memLog records every partition's log entries in memory.
type memLog struct {
	mu      sync.Mutex
	entries map[int][][]byte
}

func (l *memLog) Append(part int, seq uint64, entry []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = map[int][][]byte{}
	}
	if want := uint64(len(l.entries[part]) + 1); seq != want {
		return fmt.Errorf("partition %d: entry %d appended where %d was due", part, seq, want)
	}
	l.entries[part] = append(l.entries[part], bytes.Clone(entry))
	return nil
}

// loggingStore opens a store in a temporary directory whose log entries
// are recorded in memory; it is closed when the test ends.
func loggingStore(t *testing.T) (*Store, *memLog) {
	t.Helper()
	log := &memLog{}
	s, err := Open(t.TempDir(), testOptions(Options{NoSync: true, Log: log}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, log
}

// A log recorded while commands run concurrently (group commits with
// failures among them) replays into a fresh database with byte-identical
// contents and the same lastApplied; replaying an entry twice changes
// nothing, and an entry after a gap is refused.
func TestLogReplaysToTheSameState(t *testing.T) {
	s, log := loggingStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Names repeat: the conflicts must leave no trace.
			Exec(ctx, s, CreateUser{Meta: At(time.Now()), Username: fmt.Sprintf("u%d", i%40), PasswordHash: "h"})
		}()
	}
	wg.Wait()
	u, err := s.UserByUsername("u0")
	if err != nil {
		t.Fatal(err)
	}
	bio := "hello"
	Exec(ctx, s, UpdateProfile{Meta: At(time.Now()), UserID: u.ID, Bio: &bio})
	Exec(ctx, s, UpdateProfile{Meta: At(time.Now()), UserID: 12345}) // fails: unknown account

	fresh, err := Open(t.TempDir(), testOptions(Options{NoSync: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	total := 0
	for part := range s.Partitions() {
		entries := log.entries[part]
		total += len(entries)
		for i, e := range entries {
			if err := fresh.Replay(part, e); err != nil {
				t.Fatalf("partition %d, entry %d: %v", part, i+1, err)
			}
		}
		if len(entries) > 0 {
			if err := fresh.Replay(part, entries[0]); err != nil {
				t.Fatalf("replaying an old entry again: %v", err)
			}
		}
		a1, _ := s.LastApplied(part)
		a2, _ := fresh.LastApplied(part)
		if a1 != uint64(len(entries)) || a2 != a1 {
			t.Fatalf("partition %d: lastApplied %d and %d after %d entries", part, a1, a2, len(entries))
		}
	}
	if total < 3 {
		t.Fatalf("only %d log entries recorded", total)
	}
	if d1, d2 := dump(t, s, false), dump(t, fresh, false); !bytes.Equal(d1, d2) {
		t.Fatalf("replayed database differs:\n%s\n---\n%s", d1, d2)
	}

	gap, err := Open(t.TempDir(), testOptions(Options{NoSync: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer gap.Close()
	for part, entries := range log.entries {
		if len(entries) > 1 {
			if err := gap.Replay(part, entries[1]); err == nil {
				t.Fatal("an entry after a gap was applied")
			}
		}
	}
}

// Every registered command decodes from its own encoding.
func TestEveryCommandRoundTrips(t *testing.T) {
	for _, name := range CommandTypes() {
		ct := registry.byName[name]
		r, err := ct.decode([]byte(`{"at":"2026-12-01T10:00:00Z"}`))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e, err := EncodeCommand(r.(interface{ unwrap() any }).unwrap())
		if err != nil || e.Type != name || e.Version != ct.version {
			t.Fatalf("%s: encoded as %+v (%v)", name, e, err)
		}
		if _, err := decodeEntry(e); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := decodeEntry(Entry{Type: "no.such", Version: 1, Data: []byte(`{}`)}); err == nil {
		t.Fatal("an unknown command type decoded")
	}
	if _, err := decodeEntry(Entry{Type: "user.create", Version: 99, Data: []byte(`{}`)}); err == nil {
		t.Fatal("an unknown version decoded")
	}
}

// Every type with an apply method is in the registry: a command that is
// not cannot travel in a log.
func TestEveryCommandIsRegistered(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for typ := range registry.byType {
		registered[typ.Name()] = true
	}
	n := 0
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Name.Name != "apply" || fn.Recv == nil {
					continue
				}
				typ := fn.Recv.List[0].Type
				if star, ok := typ.(*ast.StarExpr); ok {
					typ = star.X
				}
				name := typ.(*ast.Ident).Name
				if name == "committer" {
					continue
				}
				n++
				if !registered[name] {
					t.Errorf("command %s is not registered (store/commands.go)", name)
				}
			}
		}
	}
	inProduct := 0 // commands the tests register (named test.*) are not declared in the product
	for name := range registry.byName {
		if !strings.HasPrefix(name, "test.") {
			inProduct++
		}
	}
	if n != inProduct {
		t.Errorf("%d commands declared, %d registered", n, inProduct)
	}
}

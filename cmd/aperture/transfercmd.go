package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"aperture/media"
	"aperture/search"
	"aperture/store"
	"aperture/transfer"
)

// importCommand runs "aperture import instagram|aperture --user NAME
// FILE.zip": it imports an archive into an account with the server
// stopped, step by step as the server would, printing the progress. The
// archive is copied into the data directory first, so the import does
// not depend on FILE staying where it is.
func importCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != store.SourceInstagram && args[0] != store.SourceAperture) {
		fmt.Fprintln(stderr, "usage: aperture import instagram|aperture --user NAME [--data DIR] FILE.zip")
		return errUsage
	}
	source := args[0]
	var cfg Config
	fs, check := cfg.flagSet("aperture import", getenv, stderr)
	username := fs.String("user", "", "the account to import into")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	if *username == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "aperture import: give the account with --user and one archive file")
		return errUsage
	}
	file := fs.Arg(0)
	a, err := transfer.Open(file)
	if err != nil {
		return fmt.Errorf("%s: %s", file, sentenceOf(err))
	}
	acc, err := transfer.Parse(a)
	a.Close()
	if err != nil {
		return fmt.Errorf("%s: %s", file, sentenceOf(err))
	}
	if acc.Source != source {
		return fmt.Errorf("%s is an %s archive; run aperture import %s", file, acc.Source, acc.Source)
	}
	st, u, err := openAccount(cfg, *username)
	if err != nil {
		return err
	}
	defer st.Close()
	dir := filepath.Join(cfg.Data, "imports")
	name, err := copyArchive(file, dir, u.ID)
	if err != nil {
		return err
	}
	run, err := store.Exec(ctx, st, store.StartImport{Meta: store.At(time.Now()), UserID: u.ID, Source: source, File: name})
	if err != nil {
		os.Remove(filepath.Join(dir, name))
		return err
	}
	im := &transfer.Importer{Store: st, Dir: dir, QuotaMB: cfg.QuotaMB, Step: 10,
		Media: media.New(media.Config{MaxBytes: int64(cfg.MaxUploadMB) << 20, MaxPixels: int64(cfg.MaxMegapixels) * 1_000_000,
			Decoders: cfg.Decoders, DecodeMemory: int64(cfg.DecodeMemoryMB) << 20, Wait: time.Hour}, media.FileBlobs{Dir: filepath.Join(cfg.Data, "media")})}
	if idx, err := search.Open(filepath.Join(cfg.Data, "search"), st, nil); err == nil {
		defer idx.Close()
		im.PlaceName = func(lat, lon float64) string { return idx.PlaceNear(lat, lon, 1) }
	}
	start := time.Now()
	fmt.Fprintf(stdout, "importing %d posts from %s into %s\n", len(acc.Posts), filepath.Base(file), u.Username)
	run, err = im.Run(ctx, run, func(r *store.ImportRun) {
		fmt.Fprintf(stdout, "\r%d of %d posts gone through, %d photos imported", r.Next, r.Total, r.Photos)
	})
	fmt.Fprintln(stdout)
	if err != nil {
		return err
	}
	if run.State == store.ImportFailed {
		return errors.New(run.Error)
	}
	fmt.Fprintf(stdout, "imported %d posts with %d photos in %s\n", run.Posts, run.Photos, time.Since(start).Round(100*time.Millisecond))
	reasons := make([]string, 0, len(run.Skipped))
	for r := range run.Skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		if run.Skipped[r] > 0 {
			fmt.Fprintf(stdout, "left out: %d %s\n", run.Skipped[r], r)
		}
	}
	if len(run.Suggested) > 0 {
		fmt.Fprintf(stdout, "followed before and here too (suggested, not followed): %v\n", run.Suggested)
	}
	return nil
}

// copyArchive copies an archive into the imports folder under a fresh
// name and returns that name.
func copyArchive(file, dir string, user store.ID) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var b [8]byte
	rand.Read(b[:])
	name := fmt.Sprintf("%s-%s.zip", user, hex.EncodeToString(b[:]))
	in, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(out.Name())
		return "", err
	}
	return name, out.Close()
}

// sentenceOf returns the sentence of an error meant for people.
func sentenceOf(err error) string {
	if msg, ok := store.Safe(err); ok {
		return msg
	}
	return err.Error()
}

// exportCommand runs "aperture export --user NAME [--out FILE]": it writes
// the account's export (what Settings → Download your data gives) with
// the server stopped.
func exportCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs, check := cfg.flagSet("aperture export", getenv, stderr)
	username := fs.String("user", "", "the account to export")
	out := fs.String("out", "", "the ZIP to write (default aperture-NAME-DATE.zip here)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	if *username == "" {
		fmt.Fprintln(stderr, "aperture export: give the account with --user")
		return errUsage
	}
	st, u, err := openAccount(cfg, *username)
	if err != nil {
		return err
	}
	defer st.Close()
	if *out == "" {
		*out = fmt.Sprintf("aperture-%s-%s.zip", u.Username, time.Now().Format("2006-01-02"))
	}
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	instance := strings.TrimRight(cfg.PublicURL, "/")
	if instance == "" {
		instance = "http://" + cfg.Addr
	}
	ex := &transfer.Exporter{Store: st, Instance: instance,
		Media: media.New(media.Config{Wait: time.Hour}, media.FileBlobs{Dir: filepath.Join(cfg.Data, "media")})}
	start := time.Now()
	err = ex.Write(ctx, u.ID, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fi, _ := os.Stat(*out)
	fmt.Fprintf(stdout, "wrote %s (%d posts, %.1f MB) in %s\n", *out, u.Counts.Posts, float64(fi.Size())/1e6, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// openAccount opens the data directory's store (the server must be
// stopped) and finds the account called name.
func openAccount(cfg Config, name string) (*store.Store, *store.User, error) {
	st, err := openStore(cfg.Data, store.Options{Partitions: cfg.Partitions})
	if err != nil {
		return nil, nil, err
	}
	u, err := st.UserByUsername(name)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("there is no account called %q here", name)
	}
	return st, u, nil
}

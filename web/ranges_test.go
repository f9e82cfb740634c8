package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"aperture/web"
)

// TestRangeRequests asks the real media route for a photo file with many
// Range headers. Each answer is the whole file (200: no Range, or one that
// is not a single valid bytes range), the bytes asked for clamped to the
// file (206 with their Content-Range), or 416 with "bytes */size" when no
// byte asked for exists; Content-Length is always the body's length.
func TestRangeRequests(t *testing.T) {
	ts := newServer(t, web.Config{})
	token, _ := ts.signup("ranger")
	up := ts.upload(token, photo(t, false), nil)
	var m web.MediaView
	if err := json.Unmarshal(up.body, &m); err != nil || up.status != 201 {
		t.Fatalf("upload: %d %s", up.status, up.body)
	}
	url := m.Variants["large"].URL
	file := ts.get(url, "", nil).body
	n := int64(len(file))
	if n < 1000 {
		t.Fatalf("a %d-byte file is too small to test ranges on", n)
	}
	N := strconv.FormatInt(n, 10)
	const whole, none = -1, -2
	cases := []struct {
		name, header string
		from, to     int64 // the bytes expected, inclusive; whole: 200; none: 416
	}{
		{"no header", "", whole, 0},
		{"first bytes", "bytes=0-99", 0, 99},
		{"one byte", "bytes=0-0", 0, 0},
		{"the last byte by position", "bytes=" + strconv.FormatInt(n-1, 10) + "-" + strconv.FormatInt(n-1, 10), n - 1, n - 1},
		{"from a position", "bytes=100-", 100, n - 1},
		{"from the last byte", "bytes=" + strconv.FormatInt(n-1, 10) + "-", n - 1, n - 1},
		{"from zero", "bytes=0-", 0, n - 1},
		{"leading zeros", "bytes=007-0010", 7, 10},
		{"unit in capitals", "BYTES=0-9", 0, 9},
		{"unit capitalised", "Bytes=5-9", 5, 9},
		{"suffix", "bytes=-100", n - 100, n - 1},
		{"suffix of one", "bytes=-1", n - 1, n - 1},
		{"suffix of the whole", "bytes=-" + N, 0, n - 1},
		{"suffix longer than the file", "bytes=-" + strconv.FormatInt(n+1000, 10), 0, n - 1},
		{"suffix past 64 bits", "bytes=-99999999999999999999999", 0, n - 1},
		{"suffix of the largest int64", "bytes=-9223372036854775807", 0, n - 1},
		{"end at the largest int64", "bytes=0-9223372036854775807", 0, n - 1},
		{"end one below it", "bytes=0-9223372036854775806", 0, n - 1},
		{"end at the largest uint64", "bytes=0-18446744073709551615", 0, n - 1},
		{"end past 64 bits", "bytes=0-99999999999999999999999999", 0, n - 1},
		{"middle to a huge end", "bytes=10-9223372036854775807", 10, n - 1},
		{"end just past the file", "bytes=10-" + N, 10, n - 1},
		{"empty list elements", "bytes=,0-9,", 0, 9},
		{"spaces around the comma", "bytes= ,0-9 ", 0, 9},
		{"start at the end", "bytes=" + N + "-", none, 0},
		{"start past the end", "bytes=" + N + "-" + strconv.FormatInt(n+10, 10), none, 0},
		{"start at the largest int64", "bytes=9223372036854775807-", none, 0},
		{"start past 64 bits", "bytes=99999999999999999999-", none, 0},
		{"start and end past 64 bits", "bytes=99999999999999999999-999999999999999999999", none, 0},
		{"empty suffix", "bytes=-0", none, 0},
		{"empty suffix with zeros", "bytes=-000", none, 0},
		{"end before start", "bytes=5-4", whole, 0},
		{"huge start before a small end", "bytes=99999999999999999999-5", whole, 0},
		{"two ranges", "bytes=0-9,20-29", whole, 0},
		{"two ranges with a space", "bytes=0-9, 20-29", whole, 0},
		{"overlapping ranges", "bytes=0-99,50-150,-10", whole, 0},
		{"no range", "bytes=", whole, 0},
		{"only a dash", "bytes=-", whole, 0},
		{"two dashes", "bytes=--5", whole, 0},
		{"a negative start", "bytes=-5-10", whole, 0},
		{"a plus sign", "bytes=+5-10", whole, 0},
		{"hexadecimal", "bytes=0x10-0x20", whole, 0},
		{"an exponent", "bytes=1e3-", whole, 0},
		{"a fraction", "bytes=1.5-2", whole, 0},
		{"no dash", "bytes=5", whole, 0},
		{"letters", "bytes=abc", whole, 0},
		{"spaces inside", "bytes=0 - 9", whole, 0},
		{"a parameter", "bytes=0-9;q=1", whole, 0},
		{"another unit", "items=0-9", whole, 0},
		{"no equals sign", "bytes 0-9", whole, 0},
		{"an empty unit", "=0-9", whole, 0},
		{"non-ASCII digits", "bytes=０-９", whole, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.get(url, "", map[string]string{"Range": tc.header})
			if cl := r.header.Get("Content-Length"); cl != strconv.Itoa(len(r.body)) {
				t.Fatalf("Content-Length %q for a %d-byte body", cl, len(r.body))
			}
			switch tc.from {
			case whole:
				if r.status != 200 || !bytes.Equal(r.body, file) || r.header.Get("Content-Range") != "" {
					t.Fatalf("want the whole file: %d, %d bytes, Content-Range %q", r.status, len(r.body), r.header.Get("Content-Range"))
				}
			case none:
				if r.status != 416 || len(r.body) != 0 || r.header.Get("Content-Range") != "bytes */"+N {
					t.Fatalf("want 416: %d, %d bytes, Content-Range %q", r.status, len(r.body), r.header.Get("Content-Range"))
				}
			default:
				want := fmt.Sprintf("bytes %d-%d/%d", tc.from, tc.to, n)
				if r.status != 206 || r.header.Get("Content-Range") != want || !bytes.Equal(r.body, file[tc.from:tc.to+1]) {
					t.Fatalf("want 206 %s: %d, %d bytes, Content-Range %q", want, r.status, len(r.body), r.header.Get("Content-Range"))
				}
			}
			if r.header.Get("Accept-Ranges") != "bytes" {
				t.Fatalf("Accept-Ranges %q", r.header.Get("Accept-Ranges"))
			}
		})
	}
}

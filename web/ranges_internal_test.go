package web

import "testing"

// TestParseRangeSmallFiles: the edges that only tiny files reach.
func TestParseRangeSmallFiles(t *testing.T) {
	cases := []struct {
		header               string
		size, start, end     int64
		partial, satisfiable bool
	}{
		{"bytes=0-", 0, 0, 0, false, false},
		{"bytes=0-0", 0, 0, 0, false, false},
		{"bytes=-1", 0, 0, 0, false, true},
		{"bytes=-0", 0, 0, 0, false, false},
		{"bytes=0-0", 1, 0, 1, true, true},
		{"bytes=0-9223372036854775807", 1, 0, 1, true, true},
		{"bytes=-5", 1, 0, 1, true, true},
		{"bytes=1-", 1, 0, 0, false, false},
		{"bytes=0-", 1, 0, 1, true, true},
	}
	for _, tc := range cases {
		start, end, partial, ok := parseRange(tc.header, tc.size)
		if ok != tc.satisfiable || partial != tc.partial || ok && (start != tc.start || end != tc.end) {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v, %v; want %d, %d, %v, %v", tc.header, tc.size, start, end, partial, ok,
				tc.start, tc.end, tc.partial, tc.satisfiable)
		}
	}
}

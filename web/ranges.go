package web

import (
	"strings"
)

// parseRange reads a Range header for a file of size bytes, as RFC 9110
// (section 14) has it. It returns the bytes to send, [start, end), with
// partial true for a 206 of one range, and ok false when the header asks
// only for bytes the file does not have (416, with "Content-Range: bytes
// */size"): a first position at or past the end, or a suffix of zero
// bytes. A last position past the end, or a suffix longer than the file,
// is clamped to the file, however many digits it has (numbers too large
// for 64 bits mean "past the end"). A header that is not one valid
// "bytes" range — another unit, anything but digits, a last position
// before the first, or several ranges, which aperture does not combine —
// is ignored: the whole file, 200. The unit is compared without regard
// to case, and spaces around the commas of the list are allowed.
func parseRange(h string, size int64) (start, end int64, partial, ok bool) {
	unit, set, found := strings.Cut(h, "=")
	if !found || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return 0, size, false, true
	}
	spec := ""
	for _, s := range strings.Split(set, ",") {
		if s = strings.Trim(s, " \t"); s == "" {
			continue // empty list elements count for nothing
		}
		if spec != "" {
			return 0, size, false, true // several ranges: the whole file
		}
		spec = s
	}
	first, last, found := strings.Cut(spec, "-")
	if !found || !digits(last) && last != "" || !digits(first) && first != "" || first == "" && last == "" {
		return 0, size, false, true
	}
	if first == "" { // the last n bytes
		n, huge := parseDigits(last)
		switch {
		case !huge && n == 0:
			return 0, 0, false, false
		case size == 0:
			return 0, size, false, true // no byte to name: the (empty) whole
		case huge || n >= size:
			return 0, size, true, true
		}
		return size - n, size, true, true
	}
	a, aHuge := parseDigits(first)
	if last != "" && compareDigits(last, first) < 0 {
		return 0, size, false, true // invalid: ignored
	}
	if aHuge || a >= size {
		return 0, 0, false, false
	}
	end = size
	if b, bHuge := parseDigits(last); last != "" && !bHuge && b < size-1 {
		end = b + 1
	}
	return a, end, true, true
}

// digits reports whether s is one or more ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseDigits reads a string of digits, reporting huge when its value
// does not fit in an int64.
func parseDigits(s string) (n int64, huge bool) {
	const maxInt64 = 1<<63 - 1
	for i := 0; i < len(s); i++ {
		d := int64(s[i] - '0')
		if n > (maxInt64-d)/10 {
			return 0, true
		}
		n = n*10 + d
	}
	return n, false
}

// compareDigits compares two strings of digits by value, whatever their
// length: -1, 0 or +1.
func compareDigits(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"os"
	"path/filepath"
	"testing"
)

// segment is a JPEG marker segment with its payload.
func segment(m byte, payload []byte) []byte {
	return append([]byte{0xFF, m, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
}

// afterSOI inserts segments right after the start-of-image marker.
func afterSOI(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

// withoutSegments drops every segment of marker m before the scan.
func withoutSegments(jpg []byte, m byte) []byte {
	out := append([]byte(nil), jpg[:2]...)
	i := 2
	for i+4 <= len(jpg) && jpg[i+1] != 0xDA {
		n := int(binary.BigEndian.Uint16(jpg[i+2:]))
		if jpg[i+1] != m {
			out = append(out, jpg[i:i+2+n]...)
		}
		i += 2 + n
	}
	return append(out, jpg[i:]...)
}

// rgbIDs renames the three components R, G, B in the frame and scan
// headers (their IDs make a decoder read them as RGB unless JFIF says
// YCbCr).
func rgbIDs(jpg []byte) []byte {
	out := append([]byte(nil), jpg...)
	i := 2
	for i+4 <= len(out) {
		m, n := out[i+1], int(binary.BigEndian.Uint16(out[i+2:]))
		switch m {
		case 0xC0:
			for c := 0; c < 3; c++ {
				out[i+4+6+3*c] = "RGB"[c]
			}
		case 0xDA:
			for c := 0; c < 3; c++ {
				out[i+4+1+2*c] = "RGB"[c]
			}
			return out
		}
		i += 2 + n
	}
	return out
}

func samePixels(t *testing.T, a, b image.Image) {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("bounds %v, then %v", a.Bounds(), b.Bounds())
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				t.Fatalf("pixel %d,%d: %v, then %v", x, y, a.At(x, y), b.At(x, y))
			}
		}
	}
}

// TestStripKeepsColourAndNothingElse: the metadata-free source decodes to
// exactly the upload's pixels whatever says how to read its colours — an
// Adobe transform of each kind (RGB, YCbCr, CMYK, YCCK), JFIF deciding
// YCbCr for components named R, G, B — and keeps of JFIF and Adobe
// segments nothing but their fixed minimum: no thumbnail, no padding, no
// hidden payload.
func TestStripKeepsColourAndNothingElse(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cmyk, base := read("cmyk.jpg"), read("baseline.jpg") // cmyk has Adobe (transform 0), base has JFIF
	ycck := bytes.Replace(cmyk, []byte("Adobe\x00d\x00\x00\x00\x00\x00"), []byte("Adobe\x00d\x00\x00\x00\x00\x02"), 1)
	padded := bytes.Replace(cmyk, []byte("\xFF\xEE\x00\x0EAdobe\x00d\x00\x00\x00\x00\x00"),
		segment(0xEE, []byte("Adobe\x00d\x00\x00\x00\x00\x00secret: 48.8583N 2.2944E")), 1)
	noJFIF := withoutSegments(base, 0xE0)
	thumb := append([]byte("JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x02\x02"), bytes.Repeat([]byte("\xAA\xBB\xCC"), 4)...)
	exif := segment(0xE1, []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00secret"))
	cases := []struct {
		name   string
		data   []byte
		app0   []byte // the APP0 the source must carry, if any
		app14  []byte
		noJFIF bool
	}{
		{"CMYK, Adobe transform 0", cmyk, nil, minimalAdobe(0), false},
		{"YCCK, Adobe transform 2", ycck, nil, minimalAdobe(2), false},
		{"Adobe with a hidden payload", padded, nil, minimalAdobe(0), false},
		{"RGB, Adobe transform 0", afterSOI(noJFIF, segment(0xEE, []byte("Adobe\x00d\x00\x00\x00\x00\x00"))), nil, minimalAdobe(0), false},
		{"YCbCr, Adobe transform 1 and EXIF", afterSOI(noJFIF, exif, segment(0xEE, []byte("Adobe\x00d\x00\x00\x00\x00\x01"))), nil, minimalAdobe(1), false},
		{"components R G B read as YCbCr for JFIF", rgbIDs(base), minimalJFIF, nil, false},
		{"components R G B read as RGB without JFIF", rgbIDs(noJFIF), nil, nil, true},
		{"JFIF with a thumbnail", afterSOI(noJFIF, segment(0xE0, thumb)), minimalJFIF, nil, false},
		{"a short JFIF", afterSOI(noJFIF, segment(0xE0, []byte("JFIF\x00"))), []byte("\xFF\xE0\x00\x07JFIF\x00"), nil, false},
		{"two JFIF segments", afterSOI(base, segment(0xE0, thumb)), minimalJFIF, nil, false},
		{"an APP14 that is not Adobe's", afterSOI(base, segment(0xEE, []byte("Ducky secret payload"))), minimalJFIF, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := stripJPEG(tc.data)
			if s == nil || len(s) > len(tc.data) {
				t.Fatalf("strip gave %d bytes from %d", len(s), len(tc.data))
			}
			a, err1 := decode(JPEG, tc.data)
			b, err2 := decode(JPEG, s)
			if err1 != nil || err2 != nil {
				t.Fatalf("%v %v", err1, err2)
			}
			samePixels(t, a, b)
			var app0, app14 [][]byte
			for i := 2; i+4 <= len(s) && s[i+1] != 0xDA; {
				n := int(binary.BigEndian.Uint16(s[i+2:]))
				switch m := s[i+1]; {
				case m == 0xE0:
					app0 = append(app0, s[i:i+2+n])
				case m == 0xEE:
					app14 = append(app14, s[i:i+2+n])
				case m > 0xE0 && m <= 0xEF || m == 0xFE:
					t.Fatalf("the source keeps segment FF%02X", m)
				}
				i += 2 + n
			}
			if (tc.app0 == nil) != (len(app0) == 0) || len(app0) > 1 || len(app0) == 1 && !bytes.Equal(app0[0], tc.app0) {
				t.Fatalf("APP0 %q, want %q", app0, tc.app0)
			}
			if (tc.app14 == nil) != (len(app14) == 0) || len(app14) > 1 || len(app14) == 1 && !bytes.Equal(app14[0], tc.app14) {
				t.Fatalf("APP14 %q, want %q", app14, tc.app14)
			}
			for _, secret := range []string{"secret", "Exif", "\xAA\xBB\xCC"} {
				if bytes.Contains(s, []byte(secret)) {
					t.Fatalf("the source keeps %q", secret)
				}
			}
		})
	}
	// The cases differ where they should: the transform flag and JFIF
	// change how the same bytes decode, so keeping them is necessary.
	differ := func(x, y []byte) bool {
		a, _ := decode(JPEG, x)
		b, _ := decode(JPEG, y)
		return a.At(8, 8) != b.At(8, 8)
	}
	if !differ(cmyk, ycck) || !differ(rgbIDs(base), rgbIDs(noJFIF)) {
		t.Fatal("the colour flags made no difference: the cases test nothing")
	}
}

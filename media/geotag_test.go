package media

import (
	"bytes"
	"image/jpeg"
	"math"
	"testing"
)

// TestGeotag: the EXIF that Geotag writes reads back as the same point,
// in every hemisphere, and the picture still decodes.
func TestGeotag(t *testing.T) {
	photo := Synthetic(64, 48, 7)
	for _, p := range []LatLon{{38.7167, -9.14}, {-33.8688, 151.2093}, {64.1466, -21.9426}, {-0.5, -0.25}} {
		tagged := Geotag(photo, p.Lat, p.Lon)
		got := readEXIF(JPEG, tagged).GPS
		if got == nil || math.Abs(got.Lat-p.Lat) > 1e-5 || math.Abs(got.Lon-p.Lon) > 1e-5 {
			t.Fatalf("%v reads back as %v", p, got)
		}
		if _, err := jpeg.Decode(bytes.NewReader(tagged)); err != nil {
			t.Fatalf("the tagged photo no longer decodes: %v", err)
		}
	}
	if got := Geotag([]byte("not a jpeg"), 1, 2); string(got) != "not a jpeg" {
		t.Fatalf("a non-JPEG changed: %q", got)
	}
}

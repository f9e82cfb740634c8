package media

import (
	"encoding/binary"
	"math"
)

// Geotag returns a copy of a JPEG with an EXIF block that says it was
// taken at lat, lon (what a phone's camera writes), for demo photos and
// screenshots of the location picker. It returns data unchanged when it
// is not a JPEG.
func Geotag(data []byte, lat, lon float64) []byte {
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return data
	}
	le := binary.LittleEndian
	// TIFF header, IFD0 with one entry (the GPS IFD's offset), the GPS
	// IFD with four (north/south, latitude, east/west, longitude), then
	// the six rationals of the two angles.
	const ifd0, gps = 8, 8 + 2 + 12 + 4
	const values = gps + 2 + 4*12 + 4
	b := []byte("II*\x00\x08\x00\x00\x00")
	entry := func(tag, typ uint16, count, value uint32) {
		b = le.AppendUint16(b, tag)
		b = le.AppendUint16(b, typ)
		b = le.AppendUint32(b, count)
		b = le.AppendUint32(b, value)
	}
	ref := func(c byte) uint32 { return uint32(c) } // ASCII "N\0" fits in the value itself
	b = le.AppendUint16(b, 1)
	entry(0x8825, 4, 1, gps)
	b = le.AppendUint32(b, 0)
	ns, ew := byte('N'), byte('E')
	if lat < 0 {
		ns = 'S'
	}
	if lon < 0 {
		ew = 'W'
	}
	b = le.AppendUint16(b, 4)
	entry(1, 2, 2, ref(ns))
	entry(2, 5, 3, values)
	entry(3, 2, 2, ref(ew))
	entry(4, 5, 3, values+24)
	b = le.AppendUint32(b, 0)
	for _, v := range []float64{math.Abs(lat), math.Abs(lon)} {
		deg := math.Floor(v)
		mins := math.Floor((v - deg) * 60)
		secs := math.Round(((v-deg)*60 - mins) * 60 * 1000)
		for _, r := range [][2]uint32{{uint32(deg), 1}, {uint32(mins), 1}, {uint32(secs), 1000}} {
			b = le.AppendUint32(b, r[0])
			b = le.AppendUint32(b, r[1])
		}
	}
	payload := append([]byte("Exif\x00\x00"), b...)
	n := len(payload) + 2
	out := make([]byte, 0, len(data)+n+2)
	out = append(out, 0xFF, 0xD8, 0xFF, 0xE1, byte(n>>8), byte(n))
	out = append(out, payload...)
	return append(out, data[2:]...)
}

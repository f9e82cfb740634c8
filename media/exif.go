package media

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math"
	"strconv"
)

// LatLon is a point on Earth in degrees.
type LatLon struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// exifInfo is what aperture reads from EXIF: how to turn the photo upright
// and where it was taken. Everything else is dropped with the metadata.
type exifInfo struct {
	Orientation int // 1–8; 1 (or 0, unknown) is upright
	GPS         *LatLon
}

// readEXIF finds the EXIF block wherever the container keeps it — JPEG
// APP1, PNG eXIf (or the "Raw profile" text chunks older tools wrote),
// WebP's EXIF chunk, the Exif item of HEIC and AVIF — and parses it.
// Malformed or absent EXIF gives the zero value; it never panics and
// reads only inside data.
//
// HEIC and AVIF say how to turn the picture upright with their own irot
// and imir properties, which EXIF's orientation only repeats (readers
// must ignore it): the orientation is theirs. Neither decoder applies
// them (see withoutTransforms), so the pipeline turns these photos like
// any other.
func readEXIF(f Format, data []byte) exifInfo {
	var tiff []byte
	switch f {
	case JPEG:
		tiff = jpegEXIF(data)
	case PNG:
		tiff = pngEXIF(data)
	case WebP:
		tiff = riffChunk(data, "EXIF")
		tiff = bytes.TrimPrefix(tiff, []byte("Exif\x00\x00"))
	case HEIF, AVIF:
		h, err := parseHEIF(data)
		if err != nil {
			return exifInfo{}
		}
		info := parseTIFF(h.exif())
		info.Orientation = h.orientation()
		return info
	}
	if tiff == nil {
		return exifInfo{}
	}
	return parseTIFF(tiff)
}

// jpegEXIF walks the marker segments before the scan and returns the TIFF
// payload of the first Exif APP1 segment.
func jpegEXIF(d []byte) []byte {
	i := 2
	for i+4 <= len(d) {
		if d[i] != 0xFF {
			return nil
		}
		marker := d[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xD8 || marker >= 0xD0 && marker <= 0xD7 || marker == 0x01:
			i += 2
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if n < 2 || i+2+n > len(d) {
			return nil
		}
		seg := d[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// pngEXIF returns the TIFF block of a PNG's eXIf chunk, wherever it is
// before IEND, or else of a "Raw profile type exif" (or APP1) text chunk,
// as ImageMagick and exiftool wrote EXIF before eXIf existed.
func pngEXIF(d []byte) []byte {
	var raw []byte
	i := 8
	for i+12 <= len(d) {
		n := int(binary.BigEndian.Uint32(d[i:]))
		t := string(d[i+4 : i+8])
		if n < 0 || n > len(d)-i-12 {
			break
		}
		body := d[i+8 : i+8+n]
		switch t {
		case "eXIf":
			return bytes.TrimPrefix(body, []byte("Exif\x00\x00"))
		case "tEXt", "zTXt", "iTXt":
			if raw == nil {
				raw = rawProfile(t, body)
			}
		case "IEND":
			i = len(d)
			continue
		}
		i += 12 + n
	}
	return raw
}

// rawProfile decodes an ImageMagick "Raw profile type exif" or "APP1"
// text chunk: a name line, a length line and the bytes in hex, perhaps
// zlib-compressed; nil for any other chunk or a malformed one.
func rawProfile(typ string, b []byte) []byte {
	key, rest, ok := bytes.Cut(b, []byte{0})
	if !ok || (string(key) != "Raw profile type exif" && string(key) != "Raw profile type APP1") {
		return nil
	}
	compressed := false
	switch typ {
	case "zTXt":
		if len(rest) < 1 || rest[0] != 0 {
			return nil
		}
		rest, compressed = rest[1:], true
	case "iTXt":
		if len(rest) < 2 || rest[1] != 0 {
			return nil
		}
		compressed = rest[0] == 1
		rest = rest[2:]
		for range 2 { // language tag, translated keyword
			if _, rest, ok = bytes.Cut(rest, []byte{0}); !ok {
				return nil
			}
		}
	}
	if compressed {
		z, err := zlib.NewReader(bytes.NewReader(rest))
		if err != nil {
			return nil
		}
		rest, err = io.ReadAll(io.LimitReader(z, 4<<20))
		if err != nil {
			return nil
		}
	}
	fields := bytes.Fields(rest)
	if len(fields) < 3 {
		return nil
	}
	n, err := strconv.Atoi(string(fields[1]))
	if err != nil || n <= 0 || n > 1<<20 {
		return nil
	}
	out := make([]byte, 0, n)
	for _, f := range fields[2:] {
		dec := make([]byte, hex.DecodedLen(len(f)))
		if _, err := hex.Decode(dec, f); err != nil {
			return nil
		}
		out = append(out, dec...)
		if len(out) >= n {
			break
		}
	}
	if len(out) < n {
		return nil
	}
	out = bytes.TrimPrefix(out[:n], []byte("Exif\x00\x00"))
	return out
}

// riffChunk returns the data of the first top-level RIFF chunk typ.
func riffChunk(d []byte, typ string) []byte {
	i := 12
	for i+8 <= len(d) {
		n := int(binary.LittleEndian.Uint32(d[i+4:]))
		if n < 0 || n > len(d)-i-8 {
			return nil
		}
		if string(d[i:i+4]) == typ {
			return d[i+8 : i+8+n]
		}
		i += 8 + n + n&1
	}
	return nil
}

const (
	tagOrientation = 0x0112
	tagGPSIFD      = 0x8825
	tagGPSLatRef   = 1
	tagGPSLat      = 2
	tagGPSLonRef   = 3
	tagGPSLon      = 4
	maxIFDEntries  = 1024
)

// parseTIFF reads the orientation from IFD0 and the position from the GPS
// IFD. It follows no other IFD, so an IFD loop cannot trap it, and every
// offset is checked against the block.
func parseTIFF(b []byte) exifInfo {
	var info exifInfo
	if len(b) < 8 {
		return info
	}
	var bo binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return info
	}
	if bo.Uint16(b[2:]) != 42 {
		return info
	}
	t := tiff{b: b, bo: bo}
	ifd0 := t.entries(bo.Uint32(b[4:]))
	var gpsOff uint32
	for _, e := range ifd0 {
		switch e.tag {
		case tagOrientation:
			if v, ok := t.uint(e); ok && v >= 1 && v <= 8 {
				info.Orientation = int(v)
			}
		case tagGPSIFD:
			gpsOff, _ = t.uint(e)
		}
	}
	if gpsOff != 0 {
		info.GPS = t.gps(t.entries(gpsOff))
	}
	return info
}

type tiff struct {
	b  []byte
	bo binary.ByteOrder
}

type ifdEntry struct {
	tag, typ uint16
	count    uint32
	raw      []byte // the 4-byte value/offset field
}

func (t tiff) entries(off uint32) []ifdEntry {
	if uint64(off)+2 > uint64(len(t.b)) {
		return nil
	}
	n := int(t.bo.Uint16(t.b[off:]))
	if n > maxIFDEntries {
		return nil
	}
	start := int(off) + 2
	if start+12*n > len(t.b) {
		n = (len(t.b) - start) / 12
	}
	out := make([]ifdEntry, 0, n)
	for i := range n {
		p := t.b[start+12*i:]
		out = append(out, ifdEntry{tag: t.bo.Uint16(p), typ: t.bo.Uint16(p[2:]), count: t.bo.Uint32(p[4:]), raw: p[8:12]})
	}
	return out
}

// uint reads an integer entry holding one value, of any of TIFF's
// integer types — BYTE, SHORT, LONG, their signed forms SBYTE, SSHORT,
// SLONG, or IFD (writers store the GPS pointer as any of them) — refusing
// a negative value.
func (t tiff) uint(e ifdEntry) (uint32, bool) {
	if e.count != 1 {
		return 0, false
	}
	var v int64
	switch e.typ {
	case 1: // BYTE
		v = int64(e.raw[0])
	case 6: // SBYTE
		v = int64(int8(e.raw[0]))
	case 3: // SHORT
		v = int64(t.bo.Uint16(e.raw))
	case 8: // SSHORT
		v = int64(int16(t.bo.Uint16(e.raw)))
	case 4, 13: // LONG, IFD
		v = int64(t.bo.Uint32(e.raw))
	case 9: // SLONG
		v = int64(int32(t.bo.Uint32(e.raw)))
	default:
		return 0, false
	}
	if v < 0 {
		return 0, false
	}
	return uint32(v), true
}

// ascii returns the first character of an ASCII entry.
func (t tiff) ascii(e ifdEntry) byte {
	if e.typ != 2 || e.count < 1 {
		return 0
	}
	if e.count <= 4 {
		return e.raw[0]
	}
	if off := uint64(t.bo.Uint32(e.raw)); off < uint64(len(t.b)) {
		return t.b[off]
	}
	return 0
}

// degrees reads degrees, minutes and seconds: one to three RATIONALs (or
// SRATIONALs, which must not be negative: the sign is in the reference).
func (t tiff) degrees(e ifdEntry) (float64, bool) {
	if e.typ != 5 && e.typ != 10 || e.count < 1 || e.count > 3 {
		return 0, false
	}
	off := uint64(t.bo.Uint32(e.raw))
	if off+8*uint64(e.count) > uint64(len(t.b)) {
		return 0, false
	}
	var v [3]float64
	for i := range int(e.count) {
		num, den := t.bo.Uint32(t.b[off+uint64(8*i):]), t.bo.Uint32(t.b[off+uint64(8*i)+4:])
		n, d := float64(num), float64(den)
		if e.typ == 10 {
			n, d = float64(int32(num)), float64(int32(den))
		}
		if d <= 0 || n < 0 {
			return 0, false
		}
		v[i] = n / d
	}
	if v[1] >= 60 || v[2] >= 60 {
		return 0, false
	}
	return v[0] + v[1]/60 + v[2]/3600, true
}

func (t tiff) gps(entries []ifdEntry) *LatLon {
	var latRef, lonRef byte
	var lat, lon float64
	var okLat, okLon bool
	for _, e := range entries {
		switch e.tag {
		case tagGPSLatRef:
			latRef = t.ascii(e)
		case tagGPSLonRef:
			lonRef = t.ascii(e)
		case tagGPSLat:
			lat, okLat = t.degrees(e)
		case tagGPSLon:
			lon, okLon = t.degrees(e)
		}
	}
	if !okLat || !okLon || (latRef != 'N' && latRef != 'S') || (lonRef != 'E' && lonRef != 'W') {
		return nil
	}
	if latRef == 'S' {
		lat = -lat
	}
	if lonRef == 'W' {
		lon = -lon
	}
	if math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return nil
	}
	// 0,0 is what broken cameras write when they have no fix.
	if lat == 0 && lon == 0 {
		return nil
	}
	return &LatLon{Lat: math.Round(lat*1e6) / 1e6, Lon: math.Round(lon*1e6) / 1e6}
}

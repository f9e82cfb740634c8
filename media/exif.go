package media

import (
	"bytes"
	"encoding/binary"
	"math"
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

// readEXIF finds the EXIF block of a JPEG (APP1), PNG (eXIf) or WebP (EXIF
// chunk) and parses it. Malformed or absent EXIF gives the zero value; it
// never panics and reads only inside data.
func readEXIF(f Format, data []byte) exifInfo {
	var tiff []byte
	switch f {
	case JPEG:
		tiff = jpegEXIF(data)
	case PNG:
		tiff = pngChunk(data, "eXIf")
	case WebP:
		tiff = riffChunk(data, "EXIF")
		tiff = bytes.TrimPrefix(tiff, []byte("Exif\x00\x00"))
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

// pngChunk returns the data of the first chunk of type typ before IDAT.
func pngChunk(d []byte, typ string) []byte {
	i := 8
	for i+12 <= len(d) {
		n := int(binary.BigEndian.Uint32(d[i:]))
		t := string(d[i+4 : i+8])
		if n < 0 || n > len(d)-i-12 {
			return nil
		}
		if t == typ {
			return d[i+8 : i+8+n]
		}
		if t == "IDAT" || t == "IEND" {
			return nil
		}
		i += 12 + n
	}
	return nil
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
			if v, ok := t.short(e); ok && v >= 1 && v <= 8 {
				info.Orientation = int(v)
			}
		case tagGPSIFD:
			gpsOff, _ = t.long(e)
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

func (t tiff) short(e ifdEntry) (uint16, bool) {
	if e.typ != 3 || e.count < 1 {
		return 0, false
	}
	return t.bo.Uint16(e.raw), true
}

func (t tiff) long(e ifdEntry) (uint32, bool) {
	if e.typ != 4 && e.typ != 13 || e.count != 1 {
		return 0, false
	}
	return t.bo.Uint32(e.raw), true
}

// ascii returns the first character of an ASCII entry stored inline.
func (t tiff) ascii(e ifdEntry) byte {
	if e.typ != 2 || e.count < 1 || e.count > 4 {
		return 0
	}
	return e.raw[0]
}

// degrees reads three RATIONALs (degrees, minutes, seconds).
func (t tiff) degrees(e ifdEntry) (float64, bool) {
	if e.typ != 5 || e.count != 3 {
		return 0, false
	}
	off := uint64(t.bo.Uint32(e.raw))
	if off+24 > uint64(len(t.b)) {
		return 0, false
	}
	var v [3]float64
	for i := range v {
		num := t.bo.Uint32(t.b[off+uint64(8*i):])
		den := t.bo.Uint32(t.b[off+uint64(8*i)+4:])
		if den == 0 {
			return 0, false
		}
		v[i] = float64(num) / float64(den)
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

package media_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image/png"
	"math"
	"strings"
	"testing"

	"aperture/media"
)

// TIFF field types.
const (
	tByte, tASCII, tShort, tLong, tRational       = 1, 2, 3, 4, 5
	tSByte, tSShort, tSLong, tSRational, tIFDType = 6, 8, 9, 10, 13
)

// gpsTIFF is an EXIF TIFF block with an orientation (stored as oType) and
// a GPS IFD whose pointer is stored as ptrType (ptrCount values), at
// 48°51'30"N 2°17'40"E unless lat is given.
type gpsTIFF struct {
	bo                       byteOrder
	oType, ptrType, ptrCount uint16
	orientation              int
	ptr                      int64 // the pointer's value; 0: the real offset
	ratType                  uint16
}

func (g gpsTIFF) bytes() []byte {
	bo := g.bo
	if bo == nil {
		bo = binary.LittleEndian
	}
	be := bo == binary.ByteOrder(binary.BigEndian)
	if g.ratType == 0 {
		g.ratType = tRational
	}
	if g.ptrCount == 0 {
		g.ptrCount = 1
	}
	b := []byte("II*\x00\x08\x00\x00\x00")
	if be {
		b = []byte("MM\x00*\x00\x00\x00\x08")
	}
	entry := func(tag, typ uint16, count uint32, val []byte) []byte {
		e := bo.AppendUint16(nil, tag)
		e = bo.AppendUint16(e, typ)
		e = bo.AppendUint32(e, count)
		return append(e, append(val, make([]byte, 4-len(val))...)...)
	}
	inline := func(typ uint16, v int64) []byte {
		switch typ {
		case tByte, tSByte:
			return []byte{byte(v)}
		case tShort, tSShort:
			return bo.AppendUint16(nil, uint16(v))
		}
		return bo.AppendUint32(nil, uint32(v))
	}
	gpsOff := int64(8 + 2 + 2*12 + 4)
	ptr := g.ptr
	if ptr == 0 {
		ptr = gpsOff
	}
	b = bo.AppendUint16(b, 2)
	b = append(b, entry(0x0112, g.oType, 1, inline(g.oType, int64(g.orientation)))...)
	b = append(b, entry(0x8825, g.ptrType, uint32(g.ptrCount), inline(g.ptrType, ptr))...)
	b = bo.AppendUint32(b, 0)
	dataOff := uint32(gpsOff + 2 + 4*12 + 4)
	b = bo.AppendUint16(b, 4)
	b = append(b, entry(1, tASCII, 2, []byte("N"))...)
	b = append(b, entry(2, g.ratType, 3, bo.AppendUint32(nil, dataOff))...)
	b = append(b, entry(3, tASCII, 2, []byte("E"))...)
	b = append(b, entry(4, g.ratType, 3, bo.AppendUint32(nil, dataOff+24))...)
	b = bo.AppendUint32(b, 0)
	for _, r := range [][2]uint32{{48, 1}, {51, 1}, {3000, 100}, {2, 1}, {17, 1}, {40, 1}} {
		b = bo.AppendUint32(b, r[0])
		b = bo.AppendUint32(b, r[1])
	}
	return b
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

var paris = media.LatLon{Lat: 48.858333, Lon: 2.294444}

func atParis(l *media.LatLon) bool {
	return l != nil && math.Abs(l.Lat-paris.Lat) < 1e-4 && math.Abs(l.Lon-paris.Lon) < 1e-4
}

// TestGPSPointerOfEveryIntegerType: the GPS IFD pointer (and the
// orientation) may be stored as any TIFF integer type, in either byte
// order; negative or non-integer pointers are ignored, never followed.
func TestGPSPointerOfEveryIntegerType(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	base := encodeJPEG(t, pattern(64, 48), 90)
	cases := []struct {
		name  string
		tiff  gpsTIFF
		found bool
	}{
		{"LONG", gpsTIFF{oType: tShort, ptrType: tLong}, true},
		{"LONG big-endian", gpsTIFF{bo: binary.BigEndian, oType: tShort, ptrType: tLong}, true},
		{"SLONG (exiv2's FurnaceCreekInn.jpg)", gpsTIFF{oType: tShort, ptrType: tSLong}, true},
		{"SLONG big-endian", gpsTIFF{bo: binary.BigEndian, oType: tShort, ptrType: tSLong}, true},
		{"SHORT", gpsTIFF{oType: tShort, ptrType: tShort}, true},
		{"SHORT big-endian", gpsTIFF{bo: binary.BigEndian, oType: tShort, ptrType: tShort}, true},
		{"SSHORT", gpsTIFF{oType: tShort, ptrType: tSShort}, true},
		{"BYTE", gpsTIFF{oType: tShort, ptrType: tByte}, true},
		{"SBYTE", gpsTIFF{oType: tShort, ptrType: tSByte}, true},
		{"IFD", gpsTIFF{oType: tShort, ptrType: tIFDType}, true},
		{"SRATIONAL coordinates", gpsTIFF{oType: tShort, ptrType: tSLong, ratType: tSRational}, true},
		{"negative SLONG", gpsTIFF{oType: tShort, ptrType: tSLong, ptr: -8}, false},
		{"negative SSHORT", gpsTIFF{oType: tShort, ptrType: tSShort, ptr: -2}, false},
		{"RATIONAL pointer", gpsTIFF{oType: tShort, ptrType: tRational}, false},
		{"two pointers", gpsTIFF{oType: tShort, ptrType: tLong, ptrCount: 2}, false},
		{"pointer past the end", gpsTIFF{oType: tShort, ptrType: tLong, ptr: 1 << 20}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.tiff.orientation = 1
			res := mustProcess(t, p, withSegment(base, 0xE1, append([]byte("Exif\x00\x00"), tc.tiff.bytes()...)), media.Edit{})
			if atParis(res.Location) != tc.found {
				t.Fatalf("location %+v, want found=%v", res.Location, tc.found)
			}
		})
	}
	for _, typ := range []uint16{tShort, tLong, tByte, tSShort, tSLong} {
		t.Run("orientation type "+string(rune('0'+typ)), func(t *testing.T) {
			g := gpsTIFF{oType: typ, ptrType: tLong, orientation: 6}
			res := mustProcess(t, p, withSegment(encodeJPEG(t, pattern(48, 64), 90), 0xE1, append([]byte("Exif\x00\x00"), g.bytes()...)), media.Edit{})
			if res.Orientation != 6 || res.Width != 64 || res.Height != 48 {
				t.Fatalf("orientation %d, %d×%d", res.Orientation, res.Width, res.Height)
			}
		})
	}
}

// pngWith returns a PNG of the pattern with extra chunks inserted before
// IDAT (before) or after it (after).
func pngWith(t testing.TB, before, after [][2][]byte) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, pattern(64, 48))
	src := buf.Bytes()
	chunk := func(typ, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(b, typ...)
		b = append(b, data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
	}
	out := append([]byte(nil), src[:8+25]...) // signature and IHDR
	for _, c := range before {
		out = append(out, chunk(c[0], c[1])...)
	}
	rest := src[8+25:]
	iend := bytes.LastIndex(rest, []byte("IEND")) - 4
	out = append(out, rest[:iend]...)
	for _, c := range after {
		out = append(out, chunk(c[0], c[1])...)
	}
	return append(out, rest[iend:]...)
}

// rawProfileText is ImageMagick's "Raw profile type" text: a name line,
// the length and the bytes in hex.
func rawProfileText(name string, b []byte) []byte {
	h := hex.EncodeToString(b)
	var s strings.Builder
	s.WriteString("\n" + name + "\n" + strings.Repeat(" ", 5) + itoa(len(b)) + "\n")
	for len(h) > 72 {
		s.WriteString(h[:72] + "\n")
		h = h[72:]
	}
	s.WriteString(h + "\n")
	return []byte(s.String())
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

func zlibBytes(b []byte) []byte {
	var buf bytes.Buffer
	z := zlib.NewWriter(&buf)
	z.Write(b)
	z.Close()
	return buf.Bytes()
}

// webpWith appends RIFF chunks to a simple WebP file and, if extended,
// puts a VP8X header first.
func webpWith(t testing.TB, extended bool, chunks ...[2][]byte) []byte {
	src := fixture(t, "lossy.webp")
	out := []byte("RIFF\x00\x00\x00\x00WEBP")
	if extended {
		vp8x := []byte("VP8X\x0a\x00\x00\x00\x08\x00\x00\x00\x3f\x00\x00\x2f\x00\x00") // EXIF flag, 64×48
		out = append(out, vp8x...)
	}
	out = append(out, src[12:]...)
	for _, c := range chunks {
		out = append(out, c[0]...)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(c[1])))
		out = append(out, c[1]...)
		if len(c[1])%2 == 1 {
			out = append(out, 0)
		}
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

func pair(typ string, b []byte) [2][]byte { return [2][]byte{[]byte(typ), b} }

// TestGPSInEveryContainer: GPS becomes a location suggestion wherever the
// container keeps its EXIF.
func TestGPSInEveryContainer(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	tiff := gpsTIFF{oType: tShort, ptrType: tLong, orientation: 1}.bytes()
	slong := gpsTIFF{bo: binary.BigEndian, oType: tShort, ptrType: tSLong, orientation: 1}.bytes()
	exif := append([]byte("Exif\x00\x00"), tiff...)
	cases := []struct {
		name   string
		data   []byte
		format media.Format
	}{
		{"JPEG APP1", withSegment(encodeJPEG(t, pattern(64, 48), 90), 0xE1, exif), media.JPEG},
		{"JPEG APP1, SLONG pointer", withSegment(encodeJPEG(t, pattern(64, 48), 90), 0xE1, append([]byte("Exif\x00\x00"), slong...)), media.JPEG},
		{"PNG eXIf before IDAT", pngWith(t, [][2][]byte{pair("eXIf", tiff)}, nil), media.PNG},
		{"PNG eXIf after IDAT", pngWith(t, nil, [][2][]byte{pair("eXIf", slong)}), media.PNG},
		{"PNG tEXt raw profile", pngWith(t, [][2][]byte{pair("tEXt", append([]byte("Raw profile type exif\x00"), rawProfileText("exif", exif)...))}, nil), media.PNG},
		{"PNG zTXt raw profile", pngWith(t, [][2][]byte{pair("zTXt", append([]byte("Raw profile type exif\x00\x00"), zlibBytes(rawProfileText("exif", exif))...))}, nil), media.PNG},
		{"PNG iTXt raw APP1 profile", pngWith(t, nil, [][2][]byte{pair("iTXt", append([]byte("Raw profile type APP1\x00\x01\x00\x00\x00"), zlibBytes(rawProfileText("APP1", exif))...))}), media.PNG},
		{"WebP EXIF chunk", webpWith(t, true, pair("EXIF", tiff)), media.WebP},
		{"WebP EXIF chunk with Exif header", webpWith(t, true, pair("EXIF", exif)), media.WebP},
		{"WebP simple file with EXIF", webpWith(t, false, pair("EXIF", slong)), media.WebP},
		{"HEIC Exif item", media.HEIFWithExif(t, "photo.heic", "heic", media.ExifItem("", tiff)), media.HEIF},
		{"HEIC Exif item with Exif header, mif1 brand", media.HEIFWithExif(t, "photo.heic", "mif1", media.ExifItem("Exif\x00\x00", slong)), media.HEIF},
		{"AVIF Exif item", media.HEIFWithExif(t, "photo.avif", "avif", media.ExifItem("Exif\x00\x00", tiff)), media.AVIF},
		{"AVIF Exif item, mif1 brand", media.HEIFWithExif(t, "photo.avif", "mif1", media.ExifItem("", slong)), media.AVIF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := mustProcess(t, p, tc.data, media.Edit{})
			if res.Format != tc.format {
				t.Fatalf("format %s", res.Format)
			}
			if !atParis(res.Location) {
				t.Fatalf("location %+v", res.Location)
			}
			pre, err := p.Preview(context.Background(), tc.data, nil)
			if err != nil || !atParis(pre.Location) {
				t.Fatalf("preview location %+v, %v", pre, err)
			}
		})
	}
}

// TestHEIFOrientationIgnoresEXIF: in HEIC and AVIF the picture is turned
// by the container's irot and imir; an EXIF orientation beside them is
// not applied a second time.
func TestHEIFOrientationIgnoresEXIF(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	for _, file := range []string{"photo.heic", "photo.avif"} {
		tiff := gpsTIFF{oType: tShort, ptrType: tLong, orientation: 6}.bytes()
		res := mustProcess(t, p, media.HEIFWithExif(t, file, "mif1", media.ExifItem("", tiff)), media.Edit{})
		if res.Width != 128 || res.Height != 96 || !atParis(res.Location) {
			t.Fatalf("%s: %d×%d, location %+v", file, res.Width, res.Height, res.Location)
		}
	}
}

// TestHEIFTransforms: irot and imir turn the picture upright in HEIC
// (applied by the decoder) and AVIF (applied by aperture) alike.
func TestHEIFTransforms(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	cases := []struct {
		name       string
		transforms [][]byte
		want       [4]int // dominant colour per quadrant: 0 red, 1 green, 2 blue, 3 white
		rotated    bool
	}{
		{"none", nil, [4]int{0, 1, 2, 3}, false},
		{"quarter turn anticlockwise", [][]byte{media.IRot(1)}, [4]int{1, 3, 0, 2}, true},
		{"half turn", [][]byte{media.IRot(2)}, [4]int{3, 2, 1, 0}, false},
		{"three quarter turns", [][]byte{media.IRot(3)}, [4]int{2, 0, 3, 1}, true},
		{"mirror left to right", [][]byte{media.IMir(1)}, [4]int{1, 0, 3, 2}, false},
		{"mirror top to bottom", [][]byte{media.IMir(0)}, [4]int{2, 3, 0, 1}, false},
		{"quarter turn, then mirror left to right", [][]byte{media.IRot(1), media.IMir(1)}, [4]int{3, 1, 2, 0}, true},
		{"quarter turn, then mirror top to bottom", [][]byte{media.IRot(1), media.IMir(0)}, [4]int{0, 2, 1, 3}, true},
		{"mirror left to right, then a quarter turn", [][]byte{media.IMir(1), media.IRot(1)}, [4]int{0, 2, 1, 3}, true},
		{"three quarter turns, then mirror left to right", [][]byte{media.IRot(3), media.IMir(1)}, [4]int{0, 2, 1, 3}, true},
	}
	for _, file := range []string{"photo.heic", "photo.avif"} {
		for _, tc := range cases {
			t.Run(file+" "+tc.name, func(t *testing.T) {
				res := mustProcess(t, p, media.HEIFTransformed(t, file, tc.transforms...), media.Edit{})
				w, h := 128, 96
				if tc.rotated {
					w, h = 96, 120 // 96×128, centre-cropped into 4:5
				}
				if res.Width != w || res.Height != h {
					t.Fatalf("%d×%d, want %d×%d", res.Width, res.Height, w, h)
				}
				for i, c := range quadrantsOf(variant(t, blobs, res, "large")) {
					if dominant(c) != tc.want[i] {
						t.Fatalf("quadrant %d is %v (%d), want %d", i, c, dominant(c), tc.want[i])
					}
				}
			})
		}
	}
}

// TestHEICBrandsAndGrids: valid HEIC files decode whatever HEIF brand
// leads their file type box (libheif's example.heic says mif1), and a
// picture stored as a grid of tiles decodes whole.
func TestHEICBrandsAndGrids(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	for _, major := range []string{"heic", "mif1", "miaf", "msf1", "heix"} {
		t.Run("single picture, "+major, func(t *testing.T) {
			res := mustProcess(t, p, media.HEIFWithExif(t, "photo.heic", major, media.ExifItem("", []byte("II*\x00\x08\x00\x00\x00\x00\x00"))), media.Edit{})
			if res.Format != media.HEIF || res.Width != 128 || res.Height != 96 {
				t.Fatalf("%s %d×%d", res.Format, res.Width, res.Height)
			}
		})
		t.Run("2×2 grid, "+major, func(t *testing.T) {
			res := mustProcess(t, p, media.HEIFGrid(t, major), media.Edit{})
			if res.Width != 256 || res.Height != 192 {
				t.Fatalf("%d×%d", res.Width, res.Height)
			}
			img := variant(t, blobs, res, "large")
			// Each tile is the four-colour pattern: sample each tile's red
			// and white quadrants.
			for _, pt := range [][3]int{{32, 24, 0}, {96, 72, 3}, {160, 24, 0}, {224, 72, 3}, {32, 120, 0}, {96, 168, 3}, {160, 120, 0}, {224, 168, 3}} {
				if c := img.NRGBAAt(pt[0], pt[1]); dominant(c) != pt[2] {
					t.Fatalf("at %d,%d: %v", pt[0], pt[1], c)
				}
			}
		})
	}
}

// TestNoImageData: a container that holds only metadata (EXIF, XMP, a
// colour profile) or nothing is refused as holding no image data, not as
// an unreadable feature or a damaged file; a truncated one is still
// called damaged.
func TestNoImageData(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	exif := append([]byte("Exif\x00\x00"), gpsTIFF{oType: tShort, ptrType: tLong, orientation: 1}.bytes()...)
	xmp := []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
	icc := append([]byte("ICC_PROFILE\x00\x01\x01"), make([]byte, 128)...)
	soi, eoi := []byte{0xFF, 0xD8}, []byte{0xFF, 0xD9}
	jpeg := func(segs ...[]byte) []byte {
		out := append([]byte(nil), soi...)
		for _, s := range segs {
			out = append(out, s...)
		}
		return out
	}
	seg := func(m byte, payload []byte) []byte {
		return append([]byte{0xFF, m, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
	}
	png := func(chunks ...[2][]byte) []byte {
		b := []byte("\x89PNG\r\n\x1a\n")
		for _, c := range chunks {
			b = binary.BigEndian.AppendUint32(b, uint32(len(c[1])))
			start := len(b)
			b = append(b, c[0]...)
			b = append(b, c[1]...)
			b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
		}
		return b
	}
	ihdr := []byte{0, 0, 0, 64, 0, 0, 0, 48, 8, 2, 0, 0, 0}
	riff := func(chunks ...[2][]byte) []byte {
		b := []byte("RIFF\x00\x00\x00\x00WEBP")
		for _, c := range chunks {
			b = append(b, c[0]...)
			b = binary.LittleEndian.AppendUint32(b, uint32(len(c[1])))
			b = append(b, c[1]...)
			if len(c[1])%2 == 1 {
				b = append(b, 0)
			}
		}
		binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
		return b
	}
	vp8x := pair("VP8X", []byte{0x2C, 0, 0, 0, 63, 0, 0, 47, 0, 0})
	tiff := exif[6:]
	cases := []struct {
		name string
		data []byte
	}{
		{"JPEG with only EXIF", jpeg(seg(0xE1, exif), eoi)},
		{"JPEG with only EXIF, no end marker", jpeg(seg(0xE1, exif))},
		{"JPEG with JFIF and EXIF", jpeg(seg(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")), seg(0xE1, exif), eoi)},
		{"JPEG with only XMP", jpeg(seg(0xE1, xmp), eoi)},
		{"JPEG with only an ICC profile", jpeg(seg(0xE2, icc), eoi)},
		{"JPEG with only a comment", jpeg(seg(0xFE, []byte("hello")), eoi)},
		{"empty JPEG", jpeg(eoi)},
		{"PNG with only EXIF", png(pair("eXIf", tiff), pair("IEND", nil))},
		{"PNG header and EXIF, no pixels", png(pair("IHDR", ihdr), pair("eXIf", tiff), pair("IEND", nil))},
		{"PNG with only XMP", png(pair("iTXt", append([]byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"), xmp...)), pair("IEND", nil))},
		{"PNG with only an ICC profile", png(pair("iCCP", append([]byte("icc\x00\x00"), zlibBytes(icc)...)), pair("IEND", nil))},
		{"PNG signature alone", png()},
		{"WebP with only EXIF", riff(vp8x, pair("EXIF", tiff))},
		{"WebP with only XMP", riff(vp8x, pair("XMP ", xmp))},
		{"WebP with only an ICC profile", riff(vp8x, pair("ICCP", icc))},
		{"empty WebP", riff()},
		{"GIF without a frame", []byte("GIF89a\x40\x00\x30\x00\x00\x00\x00\x3b")},
		{"HEIC with only an Exif item", media.HEIFOnlyExif("heic", "mif1heic", true, media.ExifItem("", tiff))},
		{"HEIC with an Exif item and no primary", media.HEIFOnlyExif("mif1", "mif1heic", false, media.ExifItem("", tiff))},
		{"AVIF with only an Exif item", media.HEIFOnlyExif("avif", "mif1avif", true, media.ExifItem("", tiff))},
		{"HEIC without items", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x00\x0cmeta\x00\x00\x00\x00")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Process(context.Background(), tc.data, media.Edit{}, nil)
			if !errors.Is(err, media.ErrInvalid) || !strings.Contains(err.Error(), "holds no image data") {
				t.Fatalf("got %v", err)
			}
		})
	}
	jpg := encodeJPEG(t, pattern(64, 48), 90)
	for name, data := range map[string][]byte{
		"JPEG cut inside its EXIF": withSegment(jpg, 0xE1, exif)[:40],
		"JPEG cut inside its scan": jpg[:len(jpg)-100],
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Process(context.Background(), data, media.Edit{}, nil)
			if !errors.Is(err, media.ErrInvalid) || strings.Contains(err.Error(), "no image data") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

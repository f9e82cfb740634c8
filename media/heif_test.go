package media

import (
	"encoding/binary"
	"os"
	"testing"
)

// The HEIF files of these tests are built here, box by box, from the
// coded picture and properties of the committed fixtures: a picture with
// an Exif item, a grid of tiles, transforms, a file with no picture.

func box(typ string, body ...[]byte) []byte {
	n := 8
	for _, b := range body {
		n += len(b)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(n))
	out = append(out, typ...)
	for _, b := range body {
		out = append(out, b...)
	}
	return out
}

func fullBox(typ string, version byte, flags uint32, body ...[]byte) []byte {
	vf := binary.BigEndian.AppendUint32(nil, uint32(version)<<24|flags)
	return box(typ, append([][]byte{vf}, body...)...)
}

func u16(v int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
func u32(v int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// heifItemSpec is one item of a built file.
type heifItemSpec struct {
	typ   string
	data  []byte   // its bytes (in mdat, or idat when inIdat)
	props [][]byte // whole property boxes
	refs  map[string][]int
	idat  bool
}

// heifSpec is a file to build: items are numbered from 1.
type heifSpec struct {
	major, compat string
	primary       int // 0: no pitm
	items         []heifItemSpec
}

// ilocV1 reports whether an item lives in idat, which needs iloc version 1.
func (s heifSpec) ilocV1() bool {
	for _, it := range s.items {
		if it.idat {
			return true
		}
	}
	return false
}

// build writes ftyp, meta (hdlr, pitm, iinf, iloc, iprp, iref, idat) and
// one mdat.
func (s heifSpec) build() []byte {
	ftyp := box("ftyp", []byte(s.major), u32(0), []byte(s.compat))
	meta := func(mdatStart int) []byte {
		var infes, ipco, ipma, irefs, idat []byte
		var iloc []byte
		off := mdatStart + 8
		nprops := 0
		seen := map[string]int{}
		for i, it := range s.items {
			id := i + 1
			infes = append(infes, fullBox("infe", 2, 0, u16(id), u16(0), []byte(it.typ), []byte{0})...) // empty item name
			iloc = append(iloc, u16(id)...)
			if it.idat {
				iloc = append(iloc, u16(1)...) // construction method 1
				iloc = append(iloc, u16(0)...)
				iloc = append(iloc, u16(1)...)
				iloc = append(iloc, u32(len(idat))...)
				iloc = append(iloc, u32(len(it.data))...)
				idat = append(idat, it.data...)
			} else {
				if s.ilocV1() {
					iloc = append(iloc, u16(0)...) // construction method 0
				}
				iloc = append(iloc, u16(0)...)
				iloc = append(iloc, u16(1)...)
				iloc = append(iloc, u32(off)...)
				iloc = append(iloc, u32(len(it.data))...)
				off += len(it.data)
			}
			ipma = append(ipma, u16(id)...)
			ipma = append(ipma, byte(len(it.props)))
			for _, p := range it.props {
				idx, ok := seen[string(p)] // items with the same property share it
				if !ok {
					ipco = append(ipco, p...)
					nprops++
					idx, seen[string(p)] = nprops, nprops
				}
				if typ := string(p[4:8]); typ == "ispe" || typ == "colr" || typ == "pixi" {
					ipma = append(ipma, byte(idx)) // descriptive: not essential
				} else {
					ipma = append(ipma, byte(0x80|idx))
				}
			}
			for typ, to := range it.refs {
				body := append(u16(id), u16(len(to))...)
				for _, t := range to {
					body = append(body, u16(t)...)
				}
				irefs = append(irefs, box(typ, body)...)
			}
		}
		parts := [][]byte{fullBox("hdlr", 0, 0, u32(0), []byte("pict"), make([]byte, 13))}
		if s.primary > 0 {
			parts = append(parts, fullBox("pitm", 0, 0, u16(s.primary)))
		}
		parts = append(parts,
			fullBox("iinf", 0, 0, u16(len(s.items)), infes),
			fullBox("iloc", byte(b2i(s.ilocV1())), 0, u16(0x4400), u16(len(s.items)), iloc),
			box("iprp", box("ipco", ipco), fullBox("ipma", 0, 0, u32(len(s.items)), ipma)))
		if len(irefs) > 0 {
			parts = append(parts, fullBox("iref", 0, 0, irefs))
		}
		if len(idat) > 0 {
			parts = append(parts, box("idat", idat))
		}
		return fullBox("meta", 0, 0, parts...)
	}
	m := meta(0)
	m = meta(len(ftyp) + len(m))
	var mdat []byte
	for _, it := range s.items {
		if !it.idat {
			mdat = append(mdat, it.data...)
		}
	}
	out := append(ftyp, m...)
	return append(out, box("mdat", mdat)...)
}

// picture returns the coded bytes and property boxes (whole) of the
// primary picture of a fixture.
func picture(t testing.TB, file string) (coded []byte, props map[string][]byte) {
	coded, props, _ = pictureProps(t, file)
	return coded, props
}

// pictureProps also returns every property box of the picture, in order.
func pictureProps(t testing.TB, file string) (coded []byte, props map[string][]byte, all [][]byte) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHEIF(data)
	if err != nil {
		t.Fatal(err)
	}
	it := h.image()
	props = map[string][]byte{}
	for _, p := range it.props {
		props[p.typ] = box(p.typ, p.body)
		all = append(all, props[p.typ])
	}
	return h.itemData(it, 1<<20), props, all
}

// exifItem is an Exif item's bytes: the offset to the TIFF header, what
// precedes it, and the TIFF block.
func exifItem(prefix string, tiff []byte) []byte {
	out := u32(len(prefix))
	out = append(out, prefix...)
	return append(out, tiff...)
}

// imageWithExif is a picture of file plus an Exif item describing it.
func imageWithExif(t testing.TB, file, major string, exif []byte) []byte {
	coded, _, all := pictureProps(t, file)
	codec, compat := "hvc1", "mif1heic"
	if file == "photo.avif" {
		codec, compat = "av01", "mif1avif"
	}
	return heifSpec{major: major, compat: compat, primary: 1, items: []heifItemSpec{
		{typ: codec, data: coded, props: all},
		{typ: "Exif", data: exif, refs: map[string][]int{"cdsc": {1}}},
	}}.build()
}

func TestParseBuiltHEIF(t *testing.T) {
	tiff := []byte("MM\x00*\x00\x00\x00\x08\x00\x00")
	for _, prefix := range []string{"", "Exif\x00\x00"} {
		data := imageWithExif(t, "photo.heic", "mif1", exifItem(prefix, tiff))
		h, err := parseHEIF(data)
		if err != nil {
			t.Fatal(err)
		}
		if w, hh, ok := h.size(); !ok || w != 128 || hh != 96 {
			t.Fatalf("size %d×%d %v", w, hh, ok)
		}
		if got := h.exif(); string(got) != string(tiff) {
			t.Fatalf("prefix %q: exif %q", prefix, got)
		}
	}
}

// Builders for the external tests (package media_test).

// ExifItem is exifItem for package media_test.
func ExifItem(prefix string, tiff []byte) []byte { return exifItem(prefix, tiff) }

// HEIFWithExif is the picture of a fixture (photo.heic or photo.avif)
// with an Exif item, under the major brand given.
func HEIFWithExif(t testing.TB, file, major string, exif []byte) []byte {
	return imageWithExif(t, file, major, exif)
}

// HEIFTransformed is the picture of a fixture with extra transform
// property boxes (IRot, IMir), in that order.
func HEIFTransformed(t testing.TB, file string, transforms ...[]byte) []byte {
	coded, _, all := pictureProps(t, file)
	codec, compat := "hvc1", "mif1heic"
	if file == "photo.avif" {
		codec, compat = "av01", "mif1avif"
	}
	return heifSpec{major: compat[4:], compat: compat, primary: 1, items: []heifItemSpec{
		{typ: codec, data: coded, props: append(all, transforms...)},
	}}.build()
}

// IRot is an irot property: a anticlockwise quarter turns.
func IRot(a int) []byte { return box("irot", []byte{byte(a)}) }

// IMir is an imir property: axis 0 exchanges top and bottom, 1 left and
// right (ISO/IEC 23008-12:2022, 6.5.12).
func IMir(axis int) []byte { return box("imir", []byte{byte(axis)}) }

// HEIFGrid is a 2×2 grid of photo.heic's 128×96 picture (256×192), its
// grid description in idat, under the major brand given.
func HEIFGrid(t testing.TB, major string) []byte { return heifGrid(t, major, 2, 2) }

// heifGrid is a cols×rows grid of photo.heic's picture.
func heifGrid(t testing.TB, major string, cols, rows int) []byte {
	coded, props := picture(t, "photo.heic")
	tile := heifItemSpec{typ: "hvc1", data: coded, props: [][]byte{props["hvcC"], props["ispe"]}}
	var items []heifItemSpec
	var dimg []int
	for i := range cols * rows {
		items = append(items, tile)
		dimg = append(dimg, i+1)
	}
	desc := append([]byte{0, 0, byte(rows - 1), byte(cols - 1)}, u16(128*cols)...)
	desc = append(desc, u16(96*rows)...)
	items = append(items, heifItemSpec{typ: "grid", idat: true, data: desc,
		props: [][]byte{fullBox("ispe", 0, 0, u32(128*cols), u32(96*rows))}, refs: map[string][]int{"dimg": dimg}})
	return heifSpec{major: major, compat: "mif1heic", primary: len(items), items: items}.build()
}

// HEIFOnlyExif is an HEIF holding an Exif item and no picture: its
// primary item is the Exif item (or, without primary, there is none).
func HEIFOnlyExif(major, compat string, withPrimary bool, exif []byte) []byte {
	s := heifSpec{major: major, compat: compat, items: []heifItemSpec{{typ: "Exif", data: exif}}}
	if withPrimary {
		s.primary = 1
	}
	return s.build()
}

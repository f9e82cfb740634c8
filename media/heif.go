package media

import (
	"encoding/binary"
	"errors"
	"slices"
)

// heifFile is what aperture reads from the meta box of an HEIF container
// (HEIC and AVIF): the primary item, and each item's type, where its
// bytes are and its properties. It reads nothing else, bounds every
// offset and count, and never decodes pixels.
type heifFile struct {
	data    []byte
	primary uint32
	items   map[uint32]*heifItem
	idat    []byte
}

type heifItem struct {
	typ     string
	method  int        // iloc construction method: 0 offsets in the file, 1 in idat
	extents [][2]int64 // offset, length
	props   []heifBox  // in ipma order
	refs    map[string][]uint32
}

type heifBox struct {
	typ  string
	body []byte
	raw  []byte // the whole box, header included
}

const (
	maxHEIFItems   = 4096
	maxHEIFExtents = 1024
	maxHEIFRefs    = 4096
)

var errHEIF = errors.New("media: malformed HEIF container")

// boxes splits b into ISO BMFF boxes. A box that runs past b ends the
// list with an error.
func boxes(b []byte) ([]heifBox, error) {
	var out []heifBox
	for len(b) > 0 {
		if len(b) < 8 {
			return out, errHEIF
		}
		size, hdr := uint64(binary.BigEndian.Uint32(b)), uint64(8)
		typ := string(b[4:8])
		switch size {
		case 0:
			size = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return out, errHEIF
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < hdr || size > uint64(len(b)) {
			return out, errHEIF
		}
		out = append(out, heifBox{typ: typ, body: b[hdr:size], raw: b[:size]})
		b = b[size:]
	}
	return out, nil
}

// reader reads big-endian fields, remembering whether it ran out.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) n(size int) uint64 {
	if size == 0 {
		return 0
	}
	if len(r.b) < size {
		r.bad, r.b = true, nil
		return 0
	}
	var v uint64
	for _, c := range r.b[:size] {
		v = v<<8 | uint64(c)
	}
	r.b = r.b[size:]
	return v
}

func (r *reader) u8() uint64  { return r.n(1) }
func (r *reader) u16() uint64 { return r.n(2) }
func (r *reader) u32() uint64 { return r.n(4) }

// parseHEIF reads the top-level meta box of data.
func parseHEIF(data []byte) (*heifFile, error) {
	top, _ := boxes(data) // a damaged box after meta does not matter here
	var meta []byte
	for _, b := range top {
		if b.typ == "meta" {
			meta = b.body
			break
		}
	}
	if len(meta) < 4 {
		return nil, errHEIF
	}
	children, err := boxes(meta[4:])
	if err != nil && len(children) == 0 {
		return nil, errHEIF
	}
	f := &heifFile{data: data, items: map[uint32]*heifItem{}}
	item := func(id uint32) *heifItem {
		it := f.items[id]
		if it == nil && len(f.items) < maxHEIFItems {
			it = &heifItem{refs: map[string][]uint32{}}
			f.items[id] = it
		}
		return it
	}
	var ipco []heifBox
	var ipma []byte
	for _, c := range children {
		r := &reader{b: c.body}
		switch c.typ {
		case "pitm":
			if r.u8() == 0 {
				r.n(3)
				f.primary = uint32(r.u16())
			} else {
				r.n(3)
				f.primary = uint32(r.u32())
			}
		case "iinf":
			v := r.u8()
			r.n(3)
			if v == 0 {
				r.u16()
			} else {
				r.u32()
			}
			infes, _ := boxes(r.b)
			for _, e := range infes {
				if e.typ != "infe" {
					continue
				}
				er := &reader{b: e.body}
				ev := er.u8()
				er.n(3)
				var id uint32
				switch ev {
				case 2:
					id = uint32(er.u16())
				case 3:
					id = uint32(er.u32())
				default:
					continue
				}
				er.u16() // protection index
				typ := er.n(4)
				if it := item(id); it != nil && !er.bad {
					it.typ = string([]byte{byte(typ >> 24), byte(typ >> 16), byte(typ >> 8), byte(typ)})
				}
			}
		case "iloc":
			f.parseILOC(r, item)
		case "iprp":
			sub, _ := boxes(c.body)
			for _, s := range sub {
				switch s.typ {
				case "ipco":
					ipco, _ = boxes(s.body)
				case "ipma":
					ipma = s.body
				}
			}
		case "iref":
			v := r.u8()
			r.n(3)
			refs, _ := boxes(r.b)
			for _, ref := range refs {
				rr := &reader{b: ref.body}
				size := 2
				if v != 0 {
					size = 4
				}
				from := uint32(rr.n(size))
				n := int(rr.u16())
				it := item(from)
				for i := 0; i < n && !rr.bad && it != nil && len(it.refs[ref.typ]) < maxHEIFRefs; i++ {
					if to := uint32(rr.n(size)); !rr.bad {
						it.refs[ref.typ] = append(it.refs[ref.typ], to)
					}
				}
			}
		case "idat":
			f.idat = c.body
		}
	}
	f.associate(ipco, ipma)
	return f, nil
}

// parseILOC reads the item location box.
func (f *heifFile) parseILOC(r *reader, item func(uint32) *heifItem) {
	v := r.u8()
	r.n(3)
	sizes := r.u16()
	offSize, lenSize, baseSize, idxSize := int(sizes>>12), int(sizes>>8&15), int(sizes>>4&15), int(sizes&15)
	if v == 0 {
		idxSize = 0
	}
	for _, s := range []int{offSize, lenSize, baseSize, idxSize} {
		if s != 0 && s != 4 && s != 8 {
			return
		}
	}
	count := r.u16()
	if v == 2 {
		count = r.u32()
	}
	for i := uint64(0); i < count && !r.bad; i++ {
		var id uint32
		if v < 2 {
			id = uint32(r.u16())
		} else {
			id = uint32(r.u32())
		}
		method := 0
		if v == 1 || v == 2 {
			method = int(r.u16() & 15)
		}
		r.u16() // data reference index
		base := r.n(baseSize)
		n := r.u16()
		it := item(id)
		for j := uint64(0); j < n && !r.bad; j++ {
			r.n(idxSize)
			off, length := r.n(offSize), r.n(lenSize)
			if it != nil && len(it.extents) < maxHEIFExtents && base+off >= base && base+off < 1<<62 && length < 1<<62 {
				it.extents = append(it.extents, [2]int64{int64(base + off), int64(length)})
			}
		}
		if it != nil {
			it.method = method
		}
	}
}

// associate gives each item its properties from ipma's indexes into ipco.
func (f *heifFile) associate(ipco []heifBox, ipma []byte) {
	r := &reader{b: ipma}
	v := r.u8()
	flags := r.n(3)
	n := r.u32()
	for i := uint64(0); i < n && !r.bad; i++ {
		var id uint32
		if v < 1 {
			id = uint32(r.u16())
		} else {
			id = uint32(r.u32())
		}
		assoc := int(r.u8())
		it := f.items[id]
		for j := 0; j < assoc && !r.bad; j++ {
			var idx int
			if flags&1 != 0 {
				idx = int(r.u16() & 0x7fff)
			} else {
				idx = int(r.u8() & 0x7f)
			}
			if it != nil && idx >= 1 && idx <= len(ipco) {
				it.props = append(it.props, ipco[idx-1])
			}
		}
	}
}

// itemData returns the bytes of an item, its extents joined, or nil if
// they do not lie inside the file (or idat), or exceed max bytes.
func (f *heifFile) itemData(it *heifItem, max int64) []byte {
	src := f.data
	if it.method == 1 {
		src = f.idat
	} else if it.method != 0 {
		return nil
	}
	var total int64
	for _, e := range it.extents {
		if e[1] == 0 && len(it.extents) == 1 {
			total += int64(len(src)) - e[0] // length 0: to the end
		} else {
			total += e[1]
		}
	}
	if len(it.extents) == 0 || total > max || total < 0 {
		return nil
	}
	out := make([]byte, 0, total)
	for _, e := range it.extents {
		end := e[0] + e[1]
		if e[1] == 0 && len(it.extents) == 1 {
			end = int64(len(src))
		}
		if e[0] < 0 || end > int64(len(src)) || end < e[0] {
			return nil
		}
		out = append(out, src[e[0]:end]...)
	}
	return out
}

// prop returns the first property of the item of type typ.
func (it *heifItem) prop(typ string) []byte {
	for _, p := range it.props {
		if p.typ == typ {
			return p.body
		}
	}
	return nil
}

// codedTypes are the item types that hold a picture.
var codedTypes = map[string]bool{"hvc1": true, "av01": true, "grid": true, "iovl": true, "iden": true,
	"jpeg": true, "j2k1": true, "unci": true, "vvc1": true, "avc1": true}

// image returns the primary item if it is a picture with its bytes
// somewhere (a grid or an overlay holds them in the items it refers to).
func (f *heifFile) image() *heifItem {
	it := f.items[f.primary]
	if it == nil || !codedTypes[it.typ] {
		return nil
	}
	if len(it.extents) == 0 && len(it.refs["dimg"]) == 0 {
		return nil
	}
	return it
}

// size returns the primary picture's size as stored (its ispe), before
// irot and imir turn it upright.
func (f *heifFile) size() (w, h int, ok bool) {
	it := f.image()
	if it == nil {
		return 0, 0, false
	}
	r := &reader{b: it.prop("ispe")}
	r.u32()
	w, h = int(r.u32()), int(r.u32())
	if r.bad {
		return 0, 0, false
	}
	return w, h, true
}

// orientation returns the EXIF orientation equivalent to the primary
// item's irot and imir properties, applied in their ipma order.
func (f *heifFile) orientation() int {
	it := f.image()
	if it == nil {
		return 1
	}
	rot, flip := 0, false // rotate rot×90° anticlockwise, then mirror left to right
	for _, p := range it.props {
		if len(p.body) < 1 {
			continue
		}
		switch p.typ {
		case "irot":
			a := int(p.body[0] & 3)
			if flip {
				a = -a
			}
			rot += a
		case "imir": // axis 0 exchanges top and bottom, 1 left and right (ISO/IEC 23008-12:2022, 6.5.12)
			if p.body[0]&1 == 0 { // top to bottom = a half turn, then left to right
				if flip {
					rot -= 2
				} else {
					rot += 2
				}
			}
			flip = !flip
		}
	}
	return [2][4]int{{1, 8, 3, 6}, {2, 7, 4, 5}}[b2i(flip)][(rot%4+4)%4]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// exif returns the TIFF block of the Exif item describing the primary
// item (or, failing that, of the first Exif item), without the 4-byte
// header offset the item starts with.
func (f *heifFile) exif() []byte {
	var best *heifItem
	var bestID uint32
	for id, it := range f.items {
		if it.typ != "Exif" {
			continue
		}
		describesPrimary := slices.Contains(it.refs["cdsc"], f.primary)
		if best == nil || describesPrimary && !slices.Contains(best.refs["cdsc"], f.primary) ||
			describesPrimary == slices.Contains(best.refs["cdsc"], f.primary) && id < bestID {
			best, bestID = it, id
		}
	}
	if best == nil {
		return nil
	}
	b := f.itemData(best, 1<<20)
	if len(b) < 4 {
		return nil
	}
	off := uint64(binary.BigEndian.Uint32(b))
	if off <= uint64(len(b)-4) {
		if t := b[4+off:]; len(t) >= 4 && (string(t[:4]) == "II*\x00" || string(t[:4]) == "MM\x00*") {
			return t
		}
	}
	for _, skip := range []int{4, 10} { // writers that get the offset wrong
		if len(b) > skip+4 && (string(b[skip:skip+4]) == "II*\x00" || string(b[skip:skip+4]) == "MM\x00*") {
			return b[skip:]
		}
	}
	return nil
}

// withoutTransforms returns a copy of an HEIF file whose irot and imir
// properties are made no-ops (each rewritten in place as a zero
// rotation), so the decoder returns the picture as stored and aperture
// turns it upright like any other photo (see orientation). The HEIC
// decoder's own rotation returns planes whose stride it does not report,
// which garbles every rotated picture.
func withoutTransforms(data []byte) []byte {
	out := append([]byte(nil), data...)
	top, _ := boxes(out)
	for _, t := range top {
		if t.typ != "meta" || len(t.body) < 4 {
			continue
		}
		children, _ := boxes(t.body[4:])
		for _, c := range children {
			if c.typ != "iprp" {
				continue
			}
			iprp, _ := boxes(c.body)
			for _, p := range iprp {
				if p.typ != "ipco" {
					continue
				}
				props, _ := boxes(p.body)
				for _, prop := range props {
					if (prop.typ == "irot" || prop.typ == "imir") && len(prop.body) == 1 && len(prop.raw) == 9 {
						copy(prop.raw[4:8], "irot")
						prop.body[0] = 0
					}
				}
			}
		}
	}
	return out
}

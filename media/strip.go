package media

import (
	"bytes"
)

// stripJPEG returns the JPEG with every metadata segment removed — APP0–
// APP15 (EXIF, XMP, ICC, maker notes, thumbnails), comments and anything
// after the end-of-image marker. Two segments carry, besides metadata,
// how the decoder must read the colours, and are rewritten rather than
// dropped: the JFIF APP0 (its presence makes three components YCbCr) and
// the Adobe APP14 (its transform flag tells RGB from YCbCr and CMYK from
// YCCK). Each is written anew at its fixed minimum — JFIF 1.01 without a
// thumbnail, Adobe version 100 with only the transform copied — so
// nothing of the original segment but that flag survives. The compressed
// image data is copied untouched, so the pixels decode exactly as the
// upload's do. It returns nil if the marker structure is broken.
func stripJPEG(d []byte) []byte {
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return nil
	}
	out := make([]byte, 0, len(d))
	out = append(out, 0xFF, 0xD8)
	i := 2
	jfif := false
	for i+1 < len(d) {
		if d[i] != 0xFF {
			return nil
		}
		m := d[i+1]
		switch {
		case m == 0xFF: // fill
			i++
			continue
		case m == 0xD9: // end of image: drop whatever follows
			return append(out, 0xFF, 0xD9)
		case m >= 0xD0 && m <= 0xD7 || m == 0x01:
			out = append(out, 0xFF, m)
			i += 2
			continue
		}
		if i+4 > len(d) {
			return nil
		}
		n := int(d[i+2])<<8 | int(d[i+3])
		end := i + 2 + n
		if n < 2 || end > len(d) {
			return nil
		}
		seg := d[i:end]
		switch {
		case m == 0xE0 && bytes.HasPrefix(seg[4:], []byte("JFIF\x00")):
			switch {
			case jfif:
			case len(seg) >= len(minimalJFIF):
				out = append(out, minimalJFIF...)
			default: // a short one: its signature is all a decoder reads
				out = append(out, 0xFF, 0xE0, 0x00, 0x07, 'J', 'F', 'I', 'F', 0x00)
			}
			jfif = true
		case m == 0xEE && len(seg) >= 4+12 && bytes.HasPrefix(seg[4:], []byte("Adobe")):
			out = append(out, minimalAdobe(seg[4+11])...)
		case m >= 0xE0 && m <= 0xEF || m == 0xFE:
		default:
			out = append(out, seg...)
		}
		i = end
		if m == 0xDA { // start of scan: copy the entropy-coded data
			j := i
			for j+1 < len(d) {
				if d[j] == 0xFF && d[j+1] != 0x00 && !(d[j+1] >= 0xD0 && d[j+1] <= 0xD7) && d[j+1] != 0xFF {
					break
				}
				j++
			}
			if j+1 >= len(d) {
				return nil
			}
			out = append(out, d[i:j]...)
			i = j
		}
	}
	return nil
}

// minimalJFIF is a JFIF 1.01 APP0 segment with no density and no
// thumbnail.
var minimalJFIF = []byte{0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0}

// minimalAdobe is an Adobe APP14 segment (version 100, no flags) holding
// only the colour transform: 0 RGB or CMYK, 1 YCbCr, 2 YCCK.
func minimalAdobe(transform byte) []byte {
	return []byte{0xFF, 0xEE, 0x00, 0x0E, 'A', 'd', 'o', 'b', 'e', 0x00, 0x64, 0, 0, 0, 0, transform}
}

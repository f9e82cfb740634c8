package media

import (
	"bytes"
)

// stripJPEG returns the JPEG with every metadata segment removed — APP0–
// APP15 (EXIF, XMP, ICC, maker notes, thumbnails), comments and anything
// after the end-of-image marker — keeping only what decoding needs (the
// Adobe APP14 colour-transform flag among them). The compressed image data
// is copied untouched, so nothing is lost. It returns nil if the marker
// structure is broken.
func stripJPEG(d []byte) []byte {
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return nil
	}
	out := make([]byte, 0, len(d))
	out = append(out, 0xFF, 0xD8)
	i := 2
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
		keep := !(m >= 0xE0 && m <= 0xEF || m == 0xFE)
		if m == 0xEE && bytes.HasPrefix(seg[4:], []byte("Adobe")) {
			keep = true
		}
		if keep {
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

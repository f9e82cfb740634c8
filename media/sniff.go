package media

import (
	"bytes"
	"encoding/binary"
)

// Format is an image format aperture recognises from its first bytes.
type Format string

// The formats aperture decodes.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	GIF  Format = "gif"
	WebP Format = "webp"
	HEIF Format = "heic"
	AVIF Format = "avif"
)

// Sniff returns the format of data from its magic bytes, never from a file
// name or a client's Content-Type. It returns an ErrUnsupported error that
// names the format when it is one aperture refuses (SVG, HTML, TIFF, PDF,
// BMP, …) or cannot be identified.
func Sniff(data []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return GIF, nil
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP, nil
	}
	if f, ok := isoBMFF(data); ok {
		return f, nil
	}
	return "", unsupported("This file is %s; aperture accepts %s photos.", describe(data), accepted)
}

// isoBMFF recognises HEIF/HEIC and AVIF by their ftyp box brands.
func isoBMFF(data []byte) (Format, bool) {
	if len(data) < 16 || string(data[4:8]) != "ftyp" {
		return "", false
	}
	size := int(data[0])<<24 | int(data[1])<<16 | int(data[2])<<8 | int(data[3])
	if size < 16 || size > len(data) || size > 4096 {
		size = min(len(data), 4096)
	}
	brands := [][]byte{data[8:12]}
	for i := 16; i+4 <= size; i += 4 {
		brands = append(brands, data[i:i+4])
	}
	heif := false
	for _, b := range brands {
		switch string(b) {
		case "avif", "avis":
			return AVIF, true
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1", "miaf":
			heif = true
		}
	}
	if heif {
		return HEIF, true
	}
	return "", false
}

// describe names what a refused file is, for the error sentence.
func describe(data []byte) string {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")), " \t\r\n")
	lower := bytes.ToLower(trimmed[:min(len(trimmed), 512)])
	switch {
	case len(data) == 0:
		return "empty"
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "a TIFF image"
	case bytes.HasPrefix(data, []byte("BM")):
		return "a BMP image"
	case bytes.HasPrefix(data, []byte("%PDF")):
		return "a PDF document"
	case bytes.HasPrefix(data, []byte("8BPS")):
		return "a Photoshop document"
	case bytes.HasPrefix(data, []byte{0xFF, 0x0A}), bytes.HasPrefix(data, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")):
		return "a JPEG XL image"
	case bytes.HasPrefix(data, []byte{0, 0, 1, 0}):
		return "an icon file"
	case bytes.Contains(lower, []byte("<svg")):
		return "an SVG drawing"
	case bytes.HasPrefix(lower, []byte("<!doctype html")), bytes.HasPrefix(lower, []byte("<html")), bytes.Contains(lower, []byte("<script")):
		return "an HTML document"
	case bytes.HasPrefix(lower, []byte("<?xml")), bytes.HasPrefix(lower, []byte("<")):
		return "an XML document"
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		return "a video or an image in an unknown ISO container"
	}
	return "not an image aperture recognises"
}

// noImage is the error for a file whose container is sound but holds no
// picture: only metadata (EXIF, XMP, a colour profile) or nothing at all.
func noImage(f Format) error {
	return invalid("This %s file holds no image data, only metadata or nothing at all; upload the photo itself.", name(f))
}

// holdsImage walks the container's structure without decoding anything
// and reports false only when the structure is whole to its end and has
// no picture in it: a JPEG without a frame header, a PNG without IHDR or
// IDAT, a GIF without an image descriptor, a WebP without a VP8, VP8L or
// animation frame chunk, an HEIF without a primary picture item. A broken
// structure reports true, so that the decoder names the damage.
func holdsImage(f Format, d []byte) bool {
	switch f {
	case JPEG:
		return jpegHoldsFrame(d)
	case PNG:
		ihdr, idat := false, false
		i := 8
		for i+12 <= len(d) {
			n := int(binary.BigEndian.Uint32(d[i:]))
			if n < 0 || n > len(d)-i-12 {
				return true
			}
			switch string(d[i+4 : i+8]) {
			case "IHDR":
				ihdr = true
			case "IDAT":
				idat = true
			case "IEND":
				return ihdr && idat
			}
			i += 12 + n
		}
		return i != len(d) || ihdr && idat
	case GIF:
		frames, err := gifFrames(d)
		return err != nil || frames > 0
	case WebP:
		i := 12
		for i+8 <= len(d) {
			n := int(binary.LittleEndian.Uint32(d[i+4:]))
			if n < 0 || n > len(d)-i-8 {
				return true
			}
			switch string(d[i : i+4]) {
			case "VP8 ", "VP8L", "ANMF":
				return true
			}
			i += 8 + n + n&1
		}
		return i < len(d)
	case HEIF, AVIF:
		h, err := parseHEIF(d)
		return err != nil || h.image() != nil
	}
	return true
}

// jpegHoldsFrame walks a JPEG's marker segments up to its first frame
// header (SOF0–SOF15).
func jpegHoldsFrame(d []byte) bool {
	i := 2
	for i+1 < len(d) {
		if d[i] != 0xFF {
			return true // not a marker where one should be: damaged
		}
		m := d[i+1]
		switch {
		case m == 0xFF:
			i++
			continue
		case m == 0xD9: // end of image before any frame
			return false
		case m == 0xD8 || m >= 0xD0 && m <= 0xD7 || m == 0x01:
			i += 2
			continue
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC, m == 0xDA:
			return true
		}
		if i+4 > len(d) {
			return true
		}
		i += 2 + int(binary.BigEndian.Uint16(d[i+2:]))
	}
	return i != len(d) // ran off the end inside a segment: truncated, not empty
}

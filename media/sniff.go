package media

import (
	"bytes"
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

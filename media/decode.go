package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"github.com/gen2brain/avif"
	"github.com/gen2brain/heic"
	"golang.org/x/image/webp"
)

// config reads only the header of data and returns its dimensions. It
// returns ErrUnsupported for a JPEG feature aperture cannot read and
// ErrInvalid for a damaged header or a file that holds no image data.
func config(f Format, data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = invalid("The %s file is damaged; aperture could not read its header.", name(f))
		}
	}()
	if !holdsImage(f, data) {
		return cfg, noImage(f)
	}
	r := bytes.NewReader(data)
	switch f {
	case JPEG:
		cfg, err = jpeg.DecodeConfig(r)
	case PNG:
		cfg, err = png.DecodeConfig(r)
	case GIF:
		cfg, err = gif.DecodeConfig(r)
	case WebP:
		cfg, err = webp.DecodeConfig(r)
	case HEIF, AVIF:
		cfg, err = heifConfig(f, data)
	}
	if err != nil {
		return cfg, decodeError(f, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, invalid("The %s file says it is %d×%d pixels, which is not a photo.", name(f), cfg.Width, cfg.Height)
	}
	return cfg, nil
}

// checkPixels refuses an image whose declared pixels (all frames, for a
// GIF) exceed max, before anything is decoded.
func checkPixels(f Format, data []byte, cfg image.Config, max int64) error {
	area := int64(cfg.Width) * int64(cfg.Height)
	if area > max {
		return invalid("The photo is %d×%d pixels (%.0f megapixels); aperture accepts at most %.0f megapixels.",
			cfg.Width, cfg.Height, float64(area)/1e6, float64(max)/1e6)
	}
	if f == GIF {
		frames, err := gifFrames(data)
		if err != nil {
			return err
		}
		if int64(frames)*area > max {
			return invalid("The GIF has %d frames of %d×%d pixels (%.0f megapixels in all); aperture accepts at most %.0f megapixels.",
				frames, cfg.Width, cfg.Height, float64(int64(frames)*area)/1e6, float64(max)/1e6)
		}
	}
	return nil
}

// decode decodes the whole image (the first frame of a GIF). Decoder
// panics become ErrInvalid errors.
func decode(f Format, data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, invalid("The %s file is damaged; aperture could not decode it.", name(f))
		}
	}()
	r := bytes.NewReader(data)
	switch f {
	case JPEG:
		img, err = jpeg.Decode(r)
	case PNG:
		img, err = png.Decode(r)
	case GIF:
		img, err = gif.Decode(r)
	case WebP:
		img, err = webp.Decode(r)
	case HEIF:
		img, err = heic.Decode(bytes.NewReader(forHEICDecoder(data)))
	case AVIF:
		img, err = avif.Decode(r)
	default:
		err = unsupported("aperture accepts %s photos.", accepted)
	}
	if err != nil {
		return nil, decodeError(f, err)
	}
	return img, nil
}

// heifConfig reads an HEIC or AVIF picture's size as stored from the
// primary item's properties (ispe), in Go, without starting a decoder;
// readEXIF turns irot and imir into an orientation. The colour model is what the decoder will return: YCbCr for
// HEIC, RGBA (16 bits a channel for deep AVIF) for AVIF.
func heifConfig(f Format, data []byte) (image.Config, error) {
	h, err := parseHEIF(data)
	if err != nil {
		return image.Config{}, invalid("The %s file is damaged; aperture could not read its header.", name(f))
	}
	w, hgt, ok := h.size()
	if !ok {
		return image.Config{}, invalid("The %s file is damaged: its picture has no size.", name(f))
	}
	cfg := image.Config{Width: w, Height: hgt, ColorModel: color.YCbCrModel}
	if f == AVIF {
		cfg.ColorModel = color.RGBAModel
		if c := h.image().prop("av1C"); len(c) > 2 && c[2]&0x40 != 0 { // high_bitdepth
			cfg.ColorModel = color.RGBA64Model
		}
	}
	return cfg, nil
}

// forHEICDecoder returns a copy of data that the HEIC decoder reads as
// it should: the file type box's major brand set to "heic" if it is
// another HEIF brand (many cameras and libheif itself write "mif1"; the
// decoder only starts on files whose major brand it names, although the
// compatible brands say the file is HEIC), and its transforms made no-ops
// (see withoutTransforms).
func forHEICDecoder(data []byte) []byte {
	out := withoutTransforms(data)
	if len(out) >= 12 && string(out[8:12]) != "heic" && string(out[8:12]) != "heix" {
		copy(out[8:12], "heic")
	}
	return out
}

func decodeError(f Format, err error) error {
	var ue jpeg.UnsupportedError
	var fe jpeg.FormatError
	switch {
	case errors.As(err, &ue):
		return unsupported("This JPEG uses a feature aperture cannot read (%s); save it as a standard baseline or progressive JPEG.", string(ue))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return invalid("The %s file is truncated: it ends before the image data does.", name(f))
	case errors.As(err, &fe):
		return invalid("The %s file is damaged (%s).", name(f), string(fe))
	}
	msg := err.Error()
	if strings.Contains(msg, "unsupported") {
		return unsupported("This %s uses a feature aperture cannot read (%s).", name(f), msg)
	}
	return invalid("The %s file is damaged (%s).", name(f), msg)
}

func name(f Format) string {
	switch f {
	case HEIF:
		return "HEIC"
	case WebP:
		return "WebP"
	}
	return strings.ToUpper(string(f))
}

// flatten returns img with any transparency composited onto white; an
// opaque image comes back as it is. Images with their own pixel buffer
// (NRGBA, RGBA and their 16-bit forms) are flattened in place and a
// paletted image gets a flattened palette, so no full-size copy is made;
// the result is exactly what compositing with draw.Over onto white gives.
// Other images (WebP's lossy YCbCr with alpha) are copied.
func flatten(img image.Image) image.Image {
	if opaque(img) {
		return img
	}
	// over is draw.Over of a premultiplied 16-bit value onto white, as
	// 8 bits.
	over := func(c, a uint32) uint8 { return uint8((0xffff - a + c) >> 8) }
	switch m := img.(type) {
	case *image.NRGBA:
		flattenRows(m.Rect, func(y, x0, x1 int) {
			p := m.Pix[m.PixOffset(x0, y):m.PixOffset(x1, y)]
			for i := 0; i+4 <= len(p); i += 4 {
				a := uint32(p[i+3]) * 0x101
				for c := range 3 {
					p[i+c] = over(uint32(p[i+c])*0x101*a/0xffff, a)
				}
				p[i+3] = 0xff
			}
		})
		return m
	case *image.RGBA:
		flattenRows(m.Rect, func(y, x0, x1 int) {
			p := m.Pix[m.PixOffset(x0, y):m.PixOffset(x1, y)]
			for i := 0; i+4 <= len(p); i += 4 {
				a := uint32(p[i+3]) * 0x101
				for c := range 3 {
					p[i+c] = over(uint32(p[i+c])*0x101, a)
				}
				p[i+3] = 0xff
			}
		})
		return m
	case *image.NRGBA64, *image.RGBA64:
		set := img.(interface {
			image.RGBA64Image
			SetRGBA64(x, y int, c color.RGBA64)
		})
		flattenRows(img.Bounds(), func(y, x0, x1 int) {
			for x := x0; x < x1; x++ {
				c := set.RGBA64At(x, y)
				a := uint32(c.A)
				v := func(s uint16) uint16 { return uint16(over(uint32(s), a)) * 0x101 }
				set.SetRGBA64(x, y, color.RGBA64{R: v(c.R), G: v(c.G), B: v(c.B), A: 0xffff})
			}
		})
		return img
	case *image.Paletted:
		pal := make(color.Palette, len(m.Palette))
		for i, c := range m.Palette {
			r, g, b, a := c.RGBA()
			pal[i] = color.NRGBA{over(r, a), over(g, a), over(b, a), 0xff}
		}
		return &image.Paletted{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect, Palette: pal}
	}
	b := img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
	return dst
}

// flattenRows runs fn over each row of r, the rows split between CPUs.
func flattenRows(r image.Rectangle, fn func(y, x0, x1 int)) {
	parallelRows(r.Dy(), func(y0, y1 int) {
		for y := r.Min.Y + y0; y < r.Min.Y+y1; y++ {
			fn(y, r.Min.X, r.Max.X)
		}
	})
}

func opaque(img image.Image) bool {
	switch m := img.(type) {
	case *image.YCbCr, *image.Gray, *image.Gray16, *image.CMYK:
		return true
	case interface{ Opaque() bool }:
		return m.Opaque()
	}
	return false
}

// gifFrames counts the image descriptors of a GIF by walking its blocks,
// without decompressing any pixels.
func gifFrames(d []byte) (int, error) {
	bad := func() (int, error) { return 0, invalid("The GIF file is damaged; its blocks do not add up.") }
	if len(d) < 13 {
		return bad()
	}
	i := 13
	if d[10]&0x80 != 0 { // global colour table
		i += 3 << (d[10]&7 + 1)
	}
	frames := 0
	skipSubBlocks := func() bool {
		for i < len(d) {
			n := int(d[i])
			i++
			if n == 0 {
				return true
			}
			i += n
		}
		return false
	}
	for i < len(d) {
		switch d[i] {
		case 0x2C: // image descriptor
			if i+10 > len(d) {
				return bad()
			}
			flags := d[i+9]
			i += 10
			if flags&0x80 != 0 {
				i += 3 << (flags&7 + 1)
			}
			i++ // LZW minimum code size
			if !skipSubBlocks() {
				return frames + 1, nil // a truncated last frame still counts
			}
			frames++
		case 0x21: // extension
			i += 2
			if !skipSubBlocks() {
				return frames, nil
			}
		case 0x3B: // trailer
			return frames, nil
		default:
			if frames > 0 {
				return frames, nil
			}
			return bad()
		}
	}
	return frames, nil
}

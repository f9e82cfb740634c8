package media

import (
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/disintegration/imaging"
)

// Crop is a rectangle of the upright photo, in fractions of its width and
// height.
type Crop struct {
	X, Y, W, H float64
}

// ParseCrop parses "x,y,w,h" fractions in 0..1. It returns an ErrInvalid
// error (field "crop") for anything else, or a rectangle that leaves the
// photo or is smaller than 1% of a side.
func ParseCrop(s string) (*Crop, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	bad := newError(ErrInvalid, "crop", "Give the crop as x,y,w,h fractions of the photo between 0 and 1, like 0,0.1,1,0.8.")
	if len(parts) != 4 {
		return nil, bad
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
			return nil, bad
		}
		v[i] = f
	}
	c := &Crop{X: v[0], Y: v[1], W: v[2], H: v[3]}
	if c.W < 0.01 || c.H < 0.01 || c.X+c.W > 1.0001 || c.Y+c.H > 1.0001 {
		return nil, newError(ErrInvalid, "crop", "The crop rectangle must lie inside the photo and cover at least 1%% of each side.")
	}
	return c, nil
}

// Instagram's aspect bounds: from 4:5 portrait to 1.91:1 landscape.
const (
	minAspect = 4.0 / 5.0
	maxAspect = 1.91
)

// centreCrop returns the largest centred crop of a w×h photo with the
// given aspect (width/height).
func centreCrop(w, h int, aspect float64) *Crop {
	fw := aspect * float64(h) / float64(w)
	if fw <= 1 {
		return &Crop{X: (1 - fw) / 2, Y: 0, W: fw, H: 1}
	}
	fh := 1 / fw
	return &Crop{X: 0, Y: (1 - fh) / 2, W: 1, H: fh}
}

// cropRect returns the pixel rectangle of the upright photo (w×h) to keep:
// the requested crop, or else a centred crop into the aspect bounds. The
// result is itself clamped into the bounds.
func cropRect(w, h int, c *Crop) image.Rectangle {
	x0, y0, cw, ch := 0.0, 0.0, float64(w), float64(h)
	if c != nil {
		x0, y0 = c.X*float64(w), c.Y*float64(h)
		cw, ch = math.Min(c.W*float64(w), float64(w)-x0), math.Min(c.H*float64(h), float64(h)-y0)
	}
	if a := cw / ch; a < minAspect {
		nh := cw / minAspect
		y0 += (ch - nh) / 2
		ch = nh
	} else if a > maxAspect {
		nw := ch * maxAspect
		x0 += (cw - nw) / 2
		cw = nw
	}
	r := image.Rect(int(math.Round(x0)), int(math.Round(y0)), int(math.Round(x0+cw)), int(math.Round(y0+ch)))
	return r.Intersect(image.Rect(0, 0, w, h))
}

// uprightSize returns the size of a w×h stored image once orientation o
// is applied.
func uprightSize(w, h, o int) (int, int) {
	if o >= 5 && o <= 8 {
		return h, w
	}
	return w, h
}

// toSource maps a rectangle of the upright photo back to the stored
// image's coordinates (w×h as stored) for EXIF orientation o.
func toSource(r image.Rectangle, w, h, o int) image.Rectangle {
	pt := func(x, y int) image.Point {
		switch o {
		case 2:
			return image.Pt(w-x, y)
		case 3:
			return image.Pt(w-x, h-y)
		case 4:
			return image.Pt(x, h-y)
		case 5:
			return image.Pt(y, x)
		case 6:
			return image.Pt(y, h-x)
		case 7:
			return image.Pt(w-y, h-x)
		case 8:
			return image.Pt(w-y, x)
		}
		return image.Pt(x, y)
	}
	a, b := pt(r.Min.X, r.Min.Y), pt(r.Max.X, r.Max.Y)
	return image.Rect(a.X, a.Y, b.X, b.Y).Canon()
}

// orient returns img turned upright for EXIF orientation o.
func orient(img *image.NRGBA, o int) *image.NRGBA {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

// fit returns the size of w×h scaled to width tw (never enlarged).
func fitWidth(w, h, tw int) (int, int) {
	if w <= tw {
		return w, h
	}
	return tw, max(1, int(math.Round(float64(h)*float64(tw)/float64(w))))
}

// fitLong returns the size of w×h with its long edge at most n.
func fitLong(w, h, n int) (int, int) {
	if w <= n && h <= n {
		return w, h
	}
	if w >= h {
		return n, max(1, int(math.Round(float64(h)*float64(n)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(n)/float64(h)))), n
}

// downscale resizes src to w×h with good quality: exact 2×2 box halvings
// while the image is at least twice the target, then Catmull-Rom, whose
// support imaging widens with the scale, so nothing aliases.
func downscale(src *image.NRGBA, w, h int) *image.NRGBA {
	for src.Rect.Dx() >= 2*w && src.Rect.Dy() >= 2*h {
		src = halve(src)
	}
	if src.Rect.Dx() == w && src.Rect.Dy() == h {
		return src
	}
	return imaging.Resize(src, w, h, imaging.CatmullRom)
}

// halve averages each 2×2 block (a box filter at exactly half size).
func halve(src *image.NRGBA) *image.NRGBA {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			halveRow(dst.Pix[y*dst.Stride:], src.Pix[(2*y)*src.Stride:], src.Pix[(2*y+1)*src.Stride:], w)
		}
	})
	return dst
}

// halveRow averages two rows of 2w NRGBA pixels into one of w.
func halveRow(d, a, b []byte, w int) {
	for x := 0; x < w; x++ {
		i := 8 * x
		for c := range 4 {
			d[4*x+c] = uint8((uint16(a[i+c]) + uint16(a[i+4+c]) + uint16(b[i+c]) + uint16(b[i+4+c]) + 2) >> 2)
		}
	}
}

// halveRows is how many rows of its source halveFrom converts at a time.
const halveRows = 32

// halveFrom is halve(imaging.Clone(src)) without the full-size copy. It
// reads NRGBA and opaque RGBA pixels where they are, converts YCbCr and
// grey rows into a buffer of halveRows rows per CPU (the same conversion
// imaging makes), and other images halveRows rows at a time.
func halveFrom(src image.Image) *image.NRGBA {
	b := src.Bounds()
	w, h := b.Dx()/2, b.Dy()/2
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	parallelRows(h, func(y0, y1 int) {
		var buf []byte
		for y := y0; y < y1; y += halveRows / 2 {
			ye := min(y1, y+halveRows/2)
			rows, stride := nrgbaRows(src, b.Min.Y+2*y, b.Min.Y+2*ye, &buf)
			for yy := y; yy < ye; yy++ {
				r := 2 * (yy - y) * stride
				halveRow(dst.Pix[yy*dst.Stride:], rows[r:], rows[r+stride:], w)
			}
		}
	})
	return dst
}

// nrgbaRows returns rows [y0,y1) of img as NRGBA bytes and their stride:
// a view of the pixels for NRGBA and opaque RGBA (flatten makes RGBA
// opaque), a conversion into *buf for YCbCr and grey, a fresh copy for
// anything else.
func nrgbaRows(img image.Image, y0, y1 int, buf *[]byte) ([]byte, int) {
	b := img.Bounds()
	w := b.Dx()
	need := 4 * w * (y1 - y0)
	switch m := img.(type) {
	case *image.NRGBA:
		return m.Pix[m.PixOffset(b.Min.X, y0):], m.Stride
	case *image.RGBA:
		if m.Opaque() {
			return m.Pix[m.PixOffset(b.Min.X, y0):], m.Stride
		}
	case *image.YCbCr:
		if len(*buf) < need {
			*buf = make([]byte, need)
		}
		d := *buf
		for y := y0; y < y1; y++ {
			row := d[4*w*(y-y0):]
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				i := 4 * (x - b.Min.X)
				row[i], row[i+1], row[i+2], row[i+3] = r, g, bl, 0xff
			}
		}
		return d, 4 * w
	case *image.Gray:
		if len(*buf) < need {
			*buf = make([]byte, need)
		}
		d := *buf
		for y := y0; y < y1; y++ {
			src, row := m.Pix[m.PixOffset(b.Min.X, y):], d[4*w*(y-y0):]
			for x := range w {
				row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = src[x], src[x], src[x], 0xff
			}
		}
		return d, 4 * w
	}
	c := imaging.Crop(img, image.Rect(b.Min.X, y0, b.Max.X, y1))
	return c.Pix, c.Stride
}

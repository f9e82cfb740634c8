package media

import (
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"runtime"
)

// A decode takes three things before it starts, waiting at most
// Config.Wait for all of them: for HEIC and AVIF the single heavy slot,
// one of Config.Decoders slots (CPU), and its estimated bytes from the
// memory budget shared by every decode in flight (Config.DecodeMemory),
// so that a burst of small files declaring large pictures cannot add up
// to more memory than the budget. A decode that needs more than the
// whole budget is refused at once.
//
// The estimate is the sum of the large buffers the decode and the
// pipeline allocate — the decoder's pixels (and its working copies:
// progressive JPEG coefficients, CMYK conversion, WebP lossless's
// intermediate, the WebAssembly decoders' linear memory) and the
// resampling passes of each variant — so even with no garbage collected
// during the decode, it cannot grow the heap by more. When a large decode
// finishes, the garbage is collected before its bytes go back to the
// budget, so the next decode reuses that memory instead of growing the
// heap again.

const mb = 1 << 20

// gcAfter is the estimate above which a finished decode collects its
// garbage before releasing its bytes.
const gcAfter = 64 * mb

// cost estimates the bytes that decoding data (whose header says cfg) and
// rendering it allocate. work names the rendering: upload, preview or
// full.
func (p *Processor) cost(f Format, cfg image.Config, data []byte, o int, work renderWork) int64 {
	n := decodedBytes(f, cfg, data) + p.renderBytes(cfg.Width, cfg.Height, o, f, work)
	return n + n/16 + 4*mb // the decoders' and encoders' own buffers, blurhash, filters' tables
}

type renderWork int

const (
	workUpload renderWork = iota // the display variants, and the full copy for formats other than JPEG
	workPreview
	workFull // the deferred full copy of a JPEG
)

// decodedBytes estimates what the decoder of f allocates for a picture of
// cfg's size, from the header alone.
func decodedBytes(f Format, cfg image.Config, data []byte) int64 {
	px := float64(cfg.Width) * float64(cfg.Height)
	var bpp float64
	switch f {
	case JPEG:
		bpp = jpegBytesPerPixel(data)
	case PNG:
		bpp = modelBytes(cfg.ColorModel)
		if bpp != 4 && cfg.ColorModel != color.GrayModel {
			bpp += 4 // converted to NRGBA a strip at a time when halved (see nrgbaRows)
		}
		if len(data) > 28 && data[28] == 1 { // Adam7: the passes, then the picture
			bpp *= 2
		}
	case GIF:
		bpp = 1 + 4 // paletted, converted a strip at a time when halved
	case WebP:
		switch cfg.ColorModel {
		case color.YCbCrModel:
			bpp = 1.5
		case color.NYCbCrAModel:
			bpp = 2.5 + 4 // and the copy flatten makes
		default: // lossless: ARGB words, then NRGBA
			bpp = 8
		}
	case HEIF, AVIF:
		// The WebAssembly decoders' linear memory, which grows by copying
		// itself, and what they hand back: measured on this pipeline at
		// about 15 bytes a pixel for HEIC and 52 for 8-bit AVIF (their
		// peak heap, less the rendering that renderBytes counts).
		bpp = 17
		if f == AVIF {
			bpp = 52
			if cfg.ColorModel == color.RGBA64Model {
				bpp = 85
			}
		}
		return int64(bpp*px) + 4*int64(len(data)) + 16*mb
	}
	return int64(bpp*px*1.05) + mb // MCU and row padding
}

// modelBytes is the bytes per pixel of an image in a colour model.
func modelBytes(m color.Model) float64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// jpegBytesPerPixel reads a JPEG's frame header: the planes Go's decoder
// allocates for its components at their sampling, a CMYK copy for four
// components, and for a progressive JPEG its 32-bit coefficients.
func jpegBytesPerPixel(d []byte) float64 {
	i := 2
	for i+4 <= len(d) {
		if d[i] != 0xFF {
			break
		}
		m := d[i+1]
		if m == 0xFF || m == 0xD8 || m >= 0xD0 && m <= 0xD7 || m == 0x01 {
			i++
			if m != 0xFF {
				i++
			}
			continue
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC && i+10 <= len(d) {
			comps := int(d[i+9])
			if comps < 1 || i+10+3*comps > len(d) {
				break
			}
			hmax, vmax := 1, 1
			for c := range comps {
				s := d[i+10+3*c+1]
				hmax, vmax = max(hmax, int(s>>4)), max(vmax, int(s&15))
			}
			planes := 0.0
			for c := range comps {
				s := d[i+10+3*c+1]
				planes += float64(max(1, int(s>>4))*max(1, int(s&15))) / float64(hmax*vmax)
			}
			bpp := planes
			if comps == 4 {
				bpp += 4 + 4 // the CMYK picture made from the four planes, converted a strip at a time when halved
			}
			if m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE { // progressive
				bpp += 4 * planes
			}
			return bpp
		}
		i += 2 + n
	}
	return 8 // no readable frame header: assume the worst
}

// renderBytes estimates what the pipeline allocates to render a decoded
// w×h picture: flattening transparency is done in place, so it is the
// resampling passes of each output, their copies turned upright, and the
// encoders' buffers.
func (p *Processor) renderBytes(w, h, o int, f Format, work renderWork) int64 {
	uw, uh := uprightSize(w, h, o)
	keep := cropRect(uw, uh, nil)
	var n int64
	add := func(tw, th int) {
		sw, sh := w, h // the source rectangle, in stored orientation
		if o >= 5 {
			tw, th = th, tw
		}
		n += resizeBytes(sw, sh, tw, th)
		n += 4 * int64(tw) * int64(th) * int64(b2i(o >= 2)) // orient's copy
		n += int64(tw) * int64(th) / 4                      // the JPEG it is encoded to
	}
	switch work {
	case workUpload:
		lw, lh := fitWidth(keep.Dx(), keep.Dy(), variantWidths[0].Width)
		add(lw, lh)
		n += 4 * int64(lw) * int64(lh) // medium, small, thumb and their passes, all smaller than large
		if f != JPEG {
			add(fitLong(keep.Dx(), keep.Dy(), p.cfg.FullEdge))
		}
	case workPreview:
		add(fitLong(uw, uh, PreviewEdge))
		add(fitLong(keep.Dx(), keep.Dy(), 2*PreviewThumb))
	case workFull:
		add(fitLong(keep.Dx(), keep.Dy(), p.cfg.FullEdge))
	}
	return n
}

// resizeBytes is what resizeTo allocates to take a sw×sh source to tw×th
// (both in stored orientation).
func resizeBytes(sw, sh, tw, th int) int64 {
	px := func(w, h int) int64 { return 4 * int64(w) * int64(h) }
	pass := func(sw, sh, tw, th int) int64 { // imaging.Resize: horizontal, then vertical
		if sw == tw && sh == th {
			return px(tw, th)
		}
		n := px(tw, th)
		if sw != tw && sh != th {
			n += px(tw, sh)
		}
		return n
	}
	down := func(sw, sh int) int64 { // downscale: exact halvings, then Catmull-Rom
		var n int64
		for sw >= 2*tw && sh >= 2*th {
			sw, sh = sw/2, sh/2
			n += px(sw, sh)
		}
		if sw != tw || sh != th {
			n += pass(sw, sh, tw, th)
		}
		return n
	}
	switch {
	case sw == tw && sh == th:
		return px(tw, th)
	case sw >= 4*tw && sh >= 4*th:
		return pass(sw, sh, 2*tw, 2*th) + down(2*tw, 2*th)
	case sw >= 2*tw && sh >= 2*th:
		return px(sw/2, sh/2) + px(sw, 2*halveRows) + down(sw/2, sh/2)
	}
	return pass(sw, sh, tw, th)
}

// errOverBudget is the error for a decode larger than the whole budget.
func (p *Processor) errOverBudget(cfg image.Config, need int64) error {
	return newError(ErrTooLarge, "file", "This photo (%d×%d pixels) needs about %d MB of memory to process, and this server processes photos of up to %d MB at a time; save it smaller or as a JPEG.",
		cfg.Width, cfg.Height, (need+mb-1)/mb, p.cfg.DecodeMemory/mb)
}

// acquire takes, waiting at most cfg.Wait in all, the heavy slot (HEIC
// and AVIF), a decode slot and need bytes of the memory budget. It
// returns ErrBusy when they do not free up in time; release gives them
// back.
func (p *Processor) acquire(ctx context.Context, f Format, need int64) (release func(), err error) {
	wait, cancel := context.WithTimeout(ctx, p.cfg.Wait)
	defer cancel()
	busy := func(err error) error {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return newError(ErrBusy, "", "aperture is busy processing other photos; try again in a few seconds.")
		}
		return err
	}
	take := func(ch chan struct{}) error {
		select {
		case ch <- struct{}{}:
			return nil
		case <-wait.Done():
			return busy(wait.Err())
		}
	}
	heavy := f == HEIF || f == AVIF
	var undo []func()
	fail := func(err error) (func(), error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, err
	}
	if heavy {
		if err := take(p.heavy); err != nil {
			return fail(err)
		}
		undo = append(undo, func() { <-p.heavy })
	}
	if err := take(p.slots); err != nil {
		return fail(err)
	}
	undo = append(undo, func() { <-p.slots })
	if err := p.mem.Acquire(wait, need); err != nil {
		return fail(busy(err))
	}
	undo = append(undo, func() { p.mem.Release(need) })
	return func() {
		if need >= gcAfter {
			runtime.GC() // the garbage of this decode becomes free memory before its bytes go back to the budget
		}
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}, nil
}

// decodeIn takes what a decode of data needs (acquire), refusing at once
// one that needs more than the whole budget, and decodes data. The caller
// calls release once done with the pixels; on error there is nothing to
// release.
func (p *Processor) decodeIn(ctx context.Context, f Format, cfg image.Config, data []byte, o int, work renderWork) (img image.Image, release func(), err error) {
	need := p.cost(f, cfg, data, o, work)
	if need > p.cfg.DecodeMemory {
		return nil, nil, p.errOverBudget(cfg, need)
	}
	if release, err = p.acquire(ctx, f, need); err != nil {
		return nil, nil, err
	}
	if img, err = decode(f, data); err != nil {
		release()
		return nil, nil, err
	}
	return img, release, nil
}

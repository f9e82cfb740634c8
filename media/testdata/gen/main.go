// Command gen writes the synthetic source images that generate.sh turns
// into the committed format fixtures: a 64×48 (and a 128×96) pattern of four coloured
// quadrants (red, green / blue, white) as PPM, and the same with a
// transparent right half as PNG.
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
)

// Quadrant colours, shared with the tests.
var quads = [4]color.NRGBA{{230, 20, 20, 255}, {20, 200, 20, 255}, {20, 20, 230, 255}, {250, 250, 250, 255}}

func pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			q := 0
			if x >= w/2 {
				q++
			}
			if y >= h/2 {
				q += 2
			}
			img.SetNRGBA(x, y, quads[q])
		}
	}
	return img
}

func writePPM(name string, img *image.NRGBA) {
	f, err := os.Create(name)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(f, "P6 %d %d 255\n", img.Rect.Dx(), img.Rect.Dy())
	for i := 0; i < len(img.Pix); i += 4 {
		f.Write(img.Pix[i : i+3])
	}
	f.Close()
}

func main() {
	// HEVC encoders mangle the chroma of images under about 100 pixels,
	// so the HEIC and AVIF fixtures use a 128×96 pattern.
	writePPM("pattern128.ppm", pattern(128, 96))
	img := pattern(64, 48)
	writePPM("pattern.ppm", img)
	for y := range 48 {
		for x := 32; x < 64; x++ {
			img.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 0})
		}
	}
	g, err := os.Create("alpha.png")
	if err != nil {
		panic(err)
	}
	png.Encode(g, img)
	g.Close()
}

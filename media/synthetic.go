package media

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand"
)

// Synthetic returns a JPEG of w×h pixels that looks like an abstract
// photo — a sky-to-ground gradient, a sun or moon, hills, and sensor
// noise — drawn from seed, for demo data and tests. The same seed gives
// the same bytes.
func Synthetic(w, h int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	hue := rng.Float64() * 360
	top := hsv(hue, 0.5+0.3*rng.Float64(), 0.9)
	bottom := hsv(math.Mod(hue+30+60*rng.Float64(), 360), 0.6, 0.35+0.3*rng.Float64())
	sunX, sunY := rng.Float64()*float64(w), (0.15+0.3*rng.Float64())*float64(h)
	sunR := (0.05 + 0.08*rng.Float64()) * float64(min(w, h))
	sun := hsv(math.Mod(hue+180, 360), 0.3, 1)
	hillA, hillF, hillP := 0.08+0.1*rng.Float64(), 1+3*rng.Float64(), rng.Float64()*6
	hill := hsv(math.Mod(hue+90+90*rng.Float64(), 360), 0.6, 0.3+0.3*rng.Float64())
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		fy := float64(y) / float64(h)
		for x := range w {
			fx := float64(x) / float64(w)
			c := mix(top, bottom, fy)
			if d := math.Hypot(float64(x)-sunX, float64(y)-sunY); d < sunR*1.6 {
				c = mix(c, sun, math.Min(1, math.Max(0, (sunR*1.6-d)/(sunR*0.6))))
			}
			if fy > 0.65+hillA*math.Sin(fx*hillF*math.Pi+hillP) {
				c = mix(c, hill, 0.85)
			}
			n := rng.Float64()*12 - 6
			img.SetRGBA(x, y, color.RGBA{clampByte(c[0] + n), clampByte(c[1] + n), clampByte(c[2] + n), 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 88})
	return buf.Bytes()
}

func hsv(h, s, v float64) [3]float64 {
	c := v * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := v - c
	var r, g, b float64
	switch {
	case h < 60:
		r, g = c, x
	case h < 120:
		r, g = x, c
	case h < 180:
		g, b = c, x
	case h < 240:
		g, b = x, c
	case h < 300:
		r, b = x, c
	default:
		r, b = c, x
	}
	return [3]float64{(r + m) * 255, (g + m) * 255, (b + m) * 255}
}

func mix(a, b [3]float64, t float64) [3]float64 {
	return [3]float64{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

func clampByte(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v))) }

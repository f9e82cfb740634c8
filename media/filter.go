package media

import (
	"image"
	"math"
	"runtime"
	"strings"
	"sync"
)

// Filter is a named look in the spirit of the classic photo filters. Each
// is compiled from the same few operations — tone curves per channel,
// saturation, a colour overlay and a vignette — and applied in one pass.
type Filter struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Look  string `json:"look"` // what it does to a photo, in words

	curve      func(c int, v float64) float64 // channel 0=R,1=G,2=B; v in 0..1
	saturation float64                        // 1 keeps colour; 0 is grey
	mono       bool                           // output R=G=B
	tint       [3]float64                     // overlay colour, 0..1
	tintAlpha  float64                        // overlay strength (soft-light blend)
	vignette   float64                        // corner darkening, 0..1
}

// Filters returns every filter, Normal first.
func Filters() []Filter { return filters }

// FilterByName returns the filter called name (case-insensitive); "" is
// Normal. It returns an ErrInvalid error naming the known filters otherwise.
func FilterByName(name string) (*Filter, error) {
	if name == "" {
		return &filters[0], nil
	}
	for i := range filters {
		if equalFold(filters[i].Name, name) {
			return &filters[i], nil
		}
	}
	names := make([]string, len(filters))
	for i, f := range filters {
		names[i] = f.Name
	}
	return nil, newError(ErrInvalid, "filter", "There is no filter called %q; choose one of %s.", name, strings.Join(names, ", "))
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// Tone helpers, all on 0..1.
func contrast(v, k float64) float64 { return clamp01((v-0.5)*k + 0.5) }
func lift(v, black, white float64) float64 {
	return clamp01(black + v*(white-black))
}
func gamma(v, g float64) float64 { return math.Pow(clamp01(v), g) }

// sCurve raises contrast with a smooth S around the midpoint.
func sCurve(v, k float64) float64 {
	s := 1 / (1 + math.Exp(-k*(v-0.5)))
	lo, hi := 1/(1+math.Exp(k*0.5)), 1/(1+math.Exp(-k*0.5))
	return (s - lo) / (hi - lo)
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

var filters = []Filter{
	{Name: "normal", Title: "Normal", Look: "The photo as taken.", saturation: 1},
	{Name: "clarendon", Title: "Clarendon", Look: "More contrast and saturation; cool shadows, bright highlights.", saturation: 1.3,
		curve: func(c int, v float64) float64 {
			v = sCurve(v, 6.5)
			if c == 2 {
				v = clamp01(v + 0.06*(1-v))
			}
			return v
		}},
	{Name: "gingham", Title: "Gingham", Look: "Washed out and soft: lifted blacks, lower contrast, a faint warm cast.", saturation: 0.85,
		curve: func(c int, v float64) float64 {
			v = lift(contrast(v, 0.85), 0.1, 0.97)
			if c == 0 {
				v = clamp01(v * 1.03)
			}
			return v
		}},
	{Name: "moon", Title: "Moon", Look: "Black and white with strong contrast and lifted shadows.", mono: true, saturation: 0,
		curve: func(_ int, v float64) float64 { return lift(sCurve(v, 7), 0.08, 1) }},
	{Name: "lark", Title: "Lark", Look: "Brighter and cooler, greens and blues stronger, reds calmer.", saturation: 1.05,
		curve: func(c int, v float64) float64 {
			v = gamma(v, 0.85)
			switch c {
			case 0:
				v *= 0.95
			case 2:
				v = clamp01(v * 1.05)
			}
			return v
		}},
	{Name: "reyes", Title: "Reyes", Look: "Dusty vintage: faded, low contrast, warm and light.", saturation: 0.75,
		curve: func(c int, v float64) float64 {
			v = lift(contrast(gamma(v, 0.85), 0.8), 0.14, 0.96)
			if c == 0 {
				v = clamp01(v * 1.04)
			}
			return v
		}, tint: [3]float64{0.94, 0.86, 0.76}, tintAlpha: 0.15},
	{Name: "juno", Title: "Juno", Look: "Warm and vivid: reds and yellows pop, cool tones stay crisp.", saturation: 1.35,
		curve: func(c int, v float64) float64 {
			v = sCurve(v, 5.5)
			switch c {
			case 0:
				v = clamp01(v * 1.08)
			case 2:
				v *= 0.92
			}
			return v
		}},
	{Name: "slumber", Title: "Slumber", Look: "Dreamy and dark: desaturated with a yellow-brown haze.", saturation: 0.65,
		curve: func(c int, v float64) float64 {
			v = lift(gamma(v, 1.1), 0.08, 0.92)
			if c == 2 {
				v *= 0.88
			}
			return v
		}, tint: [3]float64{0.7, 0.55, 0.35}, tintAlpha: 0.2},
	{Name: "crema", Title: "Crema", Look: "Creamy: softer colour, warm skin tones, lifted shadows.", saturation: 0.8,
		curve: func(c int, v float64) float64 {
			v = lift(contrast(v, 0.9), 0.07, 0.97)
			if c == 0 {
				v = clamp01(v * 1.03)
			} else if c == 2 {
				v *= 0.95
			}
			return v
		}},
	{Name: "ludwig", Title: "Ludwig", Look: "Slightly desaturated with firmer contrast and warm highlights.", saturation: 0.85,
		curve: func(c int, v float64) float64 {
			v = sCurve(v, 5)
			if c == 0 {
				v = clamp01(v + 0.04*v)
			}
			return v
		}},
	{Name: "aden", Title: "Aden", Look: "Pastel: low saturation and contrast, a pink-blue haze.", saturation: 0.7,
		curve: func(_ int, v float64) float64 { return lift(contrast(gamma(v, 0.9), 0.8), 0.1, 0.98) },
		tint:  [3]float64{0.85, 0.75, 0.9}, tintAlpha: 0.2},
	{Name: "perpetua", Title: "Perpetua", Look: "Soft pastel greens and blues, gently brightened.", saturation: 0.9,
		curve: func(c int, v float64) float64 {
			v = gamma(v, 0.92)
			if c == 1 {
				v = clamp01(v * 1.04)
			}
			return lift(v, 0.05, 1)
		}, tint: [3]float64{0.55, 0.8, 0.85}, tintAlpha: 0.2},
	{Name: "valencia", Title: "Valencia", Look: "Warm and faded: brighter, with a yellow, antique cast.", saturation: 0.9,
		curve: func(c int, v float64) float64 {
			v = lift(gamma(v, 0.9), 0.06, 1)
			switch c {
			case 0:
				v = clamp01(v * 1.08)
			case 2:
				v *= 0.86
			}
			return v
		}},
	{Name: "inkwell", Title: "Inkwell", Look: "Classic black and white, a touch brighter.", mono: true, saturation: 0,
		curve: func(_ int, v float64) float64 { return gamma(v, 0.92) }},
	{Name: "nashville", Title: "Nashville", Look: "Peachy-pink warmth, lifted blacks, softened contrast.", saturation: 1.1,
		curve: func(c int, v float64) float64 {
			v = lift(contrast(v, 0.9), 0.1, 1)
			switch c {
			case 0:
				v = clamp01(v * 1.05)
			case 2:
				v = v*0.85 + 0.08
			}
			return v
		}, tint: [3]float64{0.97, 0.69, 0.6}, tintAlpha: 0.25},
	{Name: "1977", Title: "1977", Look: "Rosy and washed out, like a faded print.", saturation: 0.85,
		curve: func(_ int, v float64) float64 { return lift(gamma(v, 0.85), 0.1, 1) },
		tint:  [3]float64{0.95, 0.6, 0.65}, tintAlpha: 0.3},
	{Name: "hudson", Title: "Hudson", Look: "Cool and icy, brighter, with a gentle vignette.", saturation: 0.95,
		curve: func(c int, v float64) float64 {
			v = sCurve(gamma(v, 0.9), 5)
			switch c {
			case 0:
				v *= 0.93
			case 2:
				v = clamp01(v * 1.08)
			}
			return v
		}, vignette: 0.35},
}

// lut is the compiled per-channel curve of a filter.
type lut [3][256]uint8

func (f *Filter) compile() *lut {
	var l lut
	for c := range 3 {
		for i := range 256 {
			v := float64(i) / 255
			if f.curve != nil {
				v = f.curve(c, v)
			}
			l[c][i] = uint8(math.Round(clamp01(v) * 255))
		}
	}
	return &l
}

var (
	lutsOnce sync.Once
	luts     map[string]*lut
)

// isNormal reports whether the filter changes nothing.
func (f *Filter) isNormal() bool { return f.Name == "normal" }

// apply filters an opaque NRGBA image in place, in parallel stripes.
func (f *Filter) apply(img *image.NRGBA) {
	if f.isNormal() {
		return
	}
	lutsOnce.Do(func() {
		luts = make(map[string]*lut, len(filters))
		for i := range filters {
			luts[filters[i].Name] = filters[i].compile()
		}
	})
	l := luts[f.Name]
	w, h := img.Rect.Dx(), img.Rect.Dy()
	// Vignette: 1 - v·r², r² split into a column and a row term.
	var colTerm, rowTerm []float32
	if f.vignette > 0 {
		colTerm, rowTerm = make([]float32, w), make([]float32, h)
		for x := range colTerm {
			d := (float64(x)+0.5)/float64(w)*2 - 1
			colTerm[x] = float32(d * d / 2)
		}
		for y := range rowTerm {
			d := (float64(y)+0.5)/float64(h)*2 - 1
			rowTerm[y] = float32(d * d / 2)
		}
	}
	sat := float32(f.saturation)
	ta := float32(f.tintAlpha)
	tint := [3]float32{float32(f.tint[0]), float32(f.tint[1]), float32(f.tint[2])}
	vig := float32(f.vignette)
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+4*w]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+3 : 4*x+3]
				r := float32(l[0][p[0]]) / 255
				g := float32(l[1][p[1]]) / 255
				b := float32(l[2][p[2]]) / 255
				lum := 0.299*r + 0.587*g + 0.114*b
				if f.mono {
					r, g, b = lum, lum, lum
				} else if sat != 1 {
					r, g, b = lum+(r-lum)*sat, lum+(g-lum)*sat, lum+(b-lum)*sat
				}
				if ta > 0 {
					r = r + (softLight(r, tint[0])-r)*ta
					g = g + (softLight(g, tint[1])-g)*ta
					b = b + (softLight(b, tint[2])-b)*ta
				}
				if vig > 0 {
					k := 1 - vig*(colTerm[x]+rowTerm[y])
					r, g, b = r*k, g*k, b*k
				}
				p[0], p[1], p[2] = to8(r), to8(g), to8(b)
			}
		}
	})
}

func softLight(a, b float32) float32 {
	if b < 0.5 {
		return a - (1-2*b)*a*(1-a)
	}
	var d float32
	if a < 0.25 {
		d = ((16*a-12)*a + 4) * a
	} else {
		d = float32(math.Sqrt(float64(a)))
	}
	return a + (2*b-1)*(d-a)
}

func to8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 1:
		return 255
	}
	return uint8(v*255 + 0.5)
}

// parallelRows runs fn over [0,h) split into one stripe per CPU.
func parallelRows(h int, fn func(y0, y1 int)) {
	n := min(runtime.GOMAXPROCS(0), max(1, h/64))
	if n <= 1 {
		fn(0, h)
		return
	}
	var wg sync.WaitGroup
	step := (h + n - 1) / n
	for y := 0; y < h; y += step {
		wg.Add(1)
		go func(y0, y1 int) {
			defer wg.Done()
			fn(y0, y1)
		}(y, min(h, y+step))
	}
	wg.Wait()
}

package media_test

import (
	"image"
	"math"
	"testing"

	"aperture/media"
)

type stats struct {
	meanR, meanG, meanB float64
	lumSD               float64
	maxChroma           int // largest |R-G|, |G-B| over all pixels
}

func measure(img *image.NRGBA) stats {
	var s stats
	var sum, sum2 float64
	n := float64(img.Rect.Dx() * img.Rect.Dy())
	for i := 0; i < len(img.Pix); i += 4 {
		r, g, b := float64(img.Pix[i]), float64(img.Pix[i+1]), float64(img.Pix[i+2])
		s.meanR += r / n
		s.meanG += g / n
		s.meanB += b / n
		l := 0.299*r + 0.587*g + 0.114*b
		sum += l
		sum2 += l * l
		s.maxChroma = max(s.maxChroma, absInt(int(img.Pix[i])-int(img.Pix[i+1])), absInt(int(img.Pix[i+1])-int(img.Pix[i+2])))
	}
	s.lumSD = math.Sqrt(sum2/n - (sum/n)*(sum/n))
	return s
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func meanAbsDiff(a, b *image.NRGBA) float64 {
	var d float64
	for i := range a.Pix {
		d += math.Abs(float64(a.Pix[i]) - float64(b.Pix[i]))
	}
	return d / float64(len(a.Pix))
}

// TestFiltersMoveTheirWay renders one scene through every filter and
// checks each against Normal in its documented direction.
func TestFiltersMoveTheirWay(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	src := scene(480, 360) // no resize: large is the scene itself
	data := encodeJPEG(t, src, 95)
	out := map[string]*image.NRGBA{}
	for _, f := range media.Filters() {
		out[f.Name] = variant(t, blobs, mustProcess(t, p, data, media.Edit{Filter: f.Name}), "large")
		if f.Look == "" || f.Title == "" {
			t.Errorf("%s has no documented look", f.Name)
		}
	}
	if len(out) < 13 {
		t.Fatalf("only %d filters", len(out))
	}
	normal := out["normal"]
	// Normal changes nothing but the re-encoding.
	if d := meanAbsDiff(normal, src); d > 2.5 {
		t.Fatalf("normal changed the photo: mean difference %.2f", d)
	}
	base := measure(normal)
	for name, img := range out {
		if name == "normal" {
			continue
		}
		if d := meanAbsDiff(img, normal); d < 3 {
			t.Errorf("%s barely changes the photo (mean difference %.2f)", name, d)
		}
	}
	for _, mono := range []string{"moon", "inkwell"} {
		if s := measure(out[mono]); s.maxChroma > 3 {
			t.Errorf("%s is not black and white: |R-G| or |G-B| reaches %d", mono, s.maxChroma)
		}
	}
	warmth := func(s stats) float64 { return s.meanR - s.meanB }
	for _, warm := range []string{"juno", "valencia", "nashville", "slumber", "reyes", "crema"} {
		if s := measure(out[warm]); warmth(s) <= warmth(base)+2 {
			t.Errorf("%s is not warmer: R-B %.1f vs normal %.1f", warm, warmth(s), warmth(base))
		}
	}
	for _, cool := range []string{"lark", "hudson"} {
		if s := measure(out[cool]); warmth(s) >= warmth(base)-2 {
			t.Errorf("%s is not cooler: R-B %.1f vs normal %.1f", cool, warmth(s), warmth(base))
		}
	}
	for _, punchy := range []string{"clarendon", "juno", "moon"} {
		if s := measure(out[punchy]); s.lumSD <= base.lumSD*1.05 {
			t.Errorf("%s does not raise contrast: luminance SD %.1f vs %.1f", punchy, s.lumSD, base.lumSD)
		}
	}
	for _, faded := range []string{"gingham", "reyes", "aden", "1977"} {
		if s := measure(out[faded]); s.lumSD >= base.lumSD {
			t.Errorf("%s does not soften contrast: luminance SD %.1f vs %.1f", faded, s.lumSD, base.lumSD)
		}
	}
	if s := measure(out["hudson"]); corner(out["hudson"]) >= corner(normal)-3 {
		t.Errorf("hudson has no vignette: corner %.1f vs %.1f (%v)", corner(out["hudson"]), corner(normal), s)
	}
}

// corner is the mean luminance of the top-right 8×8 corner.
func corner(img *image.NRGBA) float64 {
	var c float64
	w := img.Rect.Dx()
	for y := range 8 {
		for x := w - 8; x < w; x++ {
			p := img.NRGBAAt(x, y)
			c += 0.299*float64(p.R) + 0.587*float64(p.G) + 0.114*float64(p.B)
		}
	}
	return c / 64
}

func TestFilterNames(t *testing.T) {
	if f, err := media.FilterByName("Clarendon"); err != nil || f.Name != "clarendon" {
		t.Fatalf("case-insensitive lookup: %v %v", f, err)
	}
	if f, err := media.FilterByName(""); err != nil || f.Name != "normal" {
		t.Fatalf("empty is normal: %v %v", f, err)
	}
}

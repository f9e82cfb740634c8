package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"strings"
	"testing"

	"aperture/media"
)

// pngBomb is a 68-byte PNG whose header declares 50000×50000 pixels.
func pngBomb() []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		start := len(b)
		b = append(b, typ...)
		b = append(b, data...)
		b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, 50000)
	binary.BigEndian.PutUint32(ihdr[4:], 50000)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b[:68]
}

// jpegBomb is a JPEG whose SOF declares 65500×65500 pixels, with a JFIF
// header or with a scan header and a few bytes of scan.
func jpegBomb(jfif bool) []byte {
	b := []byte{0xFF, 0xD8}
	if jfif {
		b = append(b, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
	}
	b = append(b, 0xFF, 0xC0, 0x00, 0x11, 8, 0xFF, 0xDC, 0xFF, 0xDC, 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0)
	b = append(b, 0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0, 0x12, 0x34, 0x56)
	return append(b, 0xFF, 0xD9)
}

// gifBomb is a GIF of 300 frames of 2000×2000 whose frames hold almost no
// data.
func gifBomb() []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, 2000)
	b = binary.LittleEndian.AppendUint16(b, 2000)
	b = append(b, 0x80, 0, 0) // global colour table of 2 entries
	b = append(b, 0, 0, 0, 255, 255, 255)
	for range 300 {
		b = append(b, 0x2C, 0, 0, 0, 0)
		b = binary.LittleEndian.AppendUint16(b, 2000)
		b = binary.LittleEndian.AppendUint16(b, 2000)
		b = append(b, 0)                   // no local table
		b = append(b, 2, 2, 0x4C, 0x01, 0) // LZW min size 2, one tiny sub-block
	}
	return append(b, 0x3B)
}

func TestHostileInputsRefusedBeforeDecoding(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	if n := len(pngBomb()); n != 68 {
		t.Fatalf("the PNG bomb is %d bytes", n)
	}
	for name, data := range map[string][]byte{"png 50000x50000": pngBomb(), "jpeg 65500x65500": jpegBomb(true), "jpeg 65500x65500 no JFIF": jpegBomb(false), "gif 300x2000x2000": gifBomb()} {
		t.Run(name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := p.Process(context.Background(), data, media.Edit{}, nil)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, media.ErrInvalid) || !strings.Contains(err.Error(), "megapixels") {
				t.Fatalf("got %v", err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
				t.Fatalf("allocated %d bytes refusing it", grew)
			}
		})
	}
}

func TestGIFWithinBoundsAccepted(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	g := gifBomb()
	// Ten frames of 2000×2000 = 40 MP: under the 50 MP limit, and only
	// the first frame is decoded.
	var short bytes.Buffer
	short.Write(g[:19])
	frame := g[19 : 19+16]
	for range 10 {
		short.Write(frame)
	}
	short.WriteByte(0x3B)
	if _, err := p.Process(context.Background(), short.Bytes(), media.Edit{}, nil); err != nil && !errors.Is(err, media.ErrInvalid) {
		t.Fatalf("10-frame GIF: %v", err)
	} else if err != nil && strings.Contains(err.Error(), "megapixels") {
		t.Fatalf("10-frame GIF refused for size: %v", err)
	}
}

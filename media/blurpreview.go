package media

import (
	"bytes"
	"image/png"

	"github.com/buckket/go-blurhash"
)

// BlurPreview returns a tiny PNG (16×12) of a blurhash, small enough to
// inline into a page as a data: URL and stretched under the photo while
// it loads. It returns ErrInvalid for a malformed hash.
func BlurPreview(hash string) ([]byte, error) {
	img, err := blurhash.Decode(hash, 16, 12, 1)
	if err != nil {
		return nil, newError(ErrInvalid, "blurhash", "The blurhash %q cannot be decoded.", hash)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

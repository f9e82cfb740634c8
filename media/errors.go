package media

import (
	"aperture/store"
)

// media returns errors of the store's kinds, so the web layer maps them
// like every other error. Unsupported formats are their own kind: the web
// layer answers 415.

// ErrUnsupported is the kind of error for a file whose format aperture
// does not accept.
var ErrUnsupported = &unsupportedKind{}

type unsupportedKind struct{}

func (*unsupportedKind) Error() string { return "unsupported media type" }

func unsupported(format string, args ...any) error {
	return store.Errorf(ErrUnsupported, format, args...)
}

func invalid(format string, args ...any) error {
	return store.Invalid("file", format, args...)
}

// accepted names the formats aperture reads, for error sentences.
const accepted = "JPEG, PNG, GIF, WebP, HEIC or AVIF"

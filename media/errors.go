package media

import (
	"errors"
	"fmt"
)

// The kinds of error Process returns; test with errors.Is. Package media
// imports nothing of aperture's, so it has its own kinds, which the web
// layer maps to HTTP statuses beside the store's.
var (
	ErrUnsupported = errors.New("unsupported media type") // 415
	ErrInvalid     = errors.New("invalid image")          // 422
	ErrTooLarge    = errors.New("image too large")        // 413
	ErrBusy        = errors.New("busy")                   // 503
	ErrNotFound    = errors.New("no such image")          // 404
)

// Error is an error of one of the kinds above with a sentence a person
// can act on. Field names the upload's form field at fault.
type Error struct {
	Kind  error
	Field string
	Msg   string
}

// Error returns the sentence.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind.
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, field, format string, args ...any) error {
	return &Error{Kind: kind, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) error {
	return newError(ErrUnsupported, "file", format, args...)
}

func invalid(format string, args ...any) error {
	return newError(ErrInvalid, "file", format, args...)
}

// accepted names the formats aperture reads, for error sentences.
const accepted = "JPEG, PNG, GIF, WebP, HEIC or AVIF"

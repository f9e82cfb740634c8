package store

import (
	"errors"
	"fmt"
)

// The kinds of error every aperture package returns. Test for them with
// errors.Is; the web package maps each kind to one HTTP status.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrTooLarge     = errors.New("too large")
	ErrUnavailable  = errors.New("unavailable")
)

// Error is an error of a known kind with a sentence that is safe to show to
// the person who caused it. Field names the input field at fault, if any.
type Error struct {
	Kind  error  // one of the Err… kinds above
	Field string // the JSON name of the field at fault, for ErrInvalid
	Msg   string // a sentence a person can act on
}

// Error returns the sentence.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind, so that errors.Is(err, ErrNotFound) works.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of the given kind whose sentence is formatted
// from format and args.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Invalid returns an ErrInvalid *Error that blames field.
func Invalid(field, format string, args ...any) error {
	return &Error{Kind: ErrInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Safe returns the sentence of err if it is an *Error, and ok=false
// otherwise (an internal error whose text must not reach clients).
func Safe(err error) (msg string, ok bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg, true
	}
	return "", false
}

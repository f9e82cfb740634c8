package web

import (
	"io"
	"sync"
)

// preEncoded is a response body that can write its JSON from encodings it
// already holds (a feed page is twenty cached post fragments). The JSON
// encoder would re-scan and compact every fragment it is handed through
// MarshalJSON; a page written this way is copied once.
type preEncoded interface {
	// appendJSON appends the body's JSON to b; ok is false when some part
	// is not pre-encoded, and the caller encodes the body as usual.
	appendJSON(b []byte) (out []byte, ok bool)
}

// rawFragment is an item that may hold its own encoding.
type rawFragment interface{ fragment() []byte }

func (v *PostView) fragment() []byte { return v.raw }

// appendJSON writes {"items":[…],"next":…} when every item carries its
// encoding, exactly as the encoder would (no spaces, a trailing newline).
func (l List[T]) appendJSON(b []byte) ([]byte, bool) {
	if l.Items == nil { // the encoder writes null
		return b, false
	}
	b = append(b, `{"items":[`...)
	for i := range l.Items {
		f, ok := any(&l.Items[i]).(rawFragment)
		if !ok || f.fragment() == nil {
			return b, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.fragment()...)
	}
	b = append(b, `],"next":`...)
	if l.Next == nil {
		b = append(b, "null"...)
	} else {
		if !plainString(*l.Next) {
			return b, false
		}
		b = append(append(append(b, '"'), *l.Next...), '"')
	}
	return append(b, "}\n"...), true
}

// plainString reports whether s needs no escaping in a JSON string.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

var rawBufs = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// writePreEncoded writes v in one Write when it is pre-encoded; it reports
// false, having written nothing, when v must go through the encoder.
func writePreEncoded(w io.Writer, v any) (bool, error) {
	p, ok := v.(preEncoded)
	if !ok {
		return false, nil
	}
	buf := rawBufs.Get().(*[]byte)
	defer rawBufs.Put(buf)
	b, ok := p.appendJSON((*buf)[:0])
	*buf = b[:0]
	if !ok {
		return false, nil
	}
	_, err := w.Write(b)
	return true, err
}

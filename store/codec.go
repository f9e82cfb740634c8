package store

import (
	"fmt"

	json "github.com/goccy/go-json"
)

// The one codec for values stored in bbolt. JSON is deterministic for
// structs (field order is fixed), readable when debugging a file with
// `bbolt get`, and tolerant of added fields, which keeps migrations rare.
// goccy/go-json is a drop-in encoding/json that decodes about three times
// faster, which is most of a feed page's cost. Swapping it for a binary
// codec later touches only this file.

func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("store: encode %T: %w", v, err)
	}
	return b, nil
}

func decode(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("store: decode %T: %w", v, err)
	}
	return nil
}

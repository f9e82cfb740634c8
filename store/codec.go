package store

import (
	"encoding/json"
	"fmt"
)

// The one codec for values stored in bbolt. JSON is deterministic for
// structs (field order is fixed), readable when debugging a file with
// `bbolt get`, and tolerant of added fields, which keeps migrations rare.
// Swapping it for a binary codec later touches only this file.

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

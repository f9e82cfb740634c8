package store

import (
	"slices"
	"testing"
)

// A batch's ordinary commands are committed apart from, and before, its
// bulk ones, each group in submission order; a batch without bulk work is
// left as it is.
func TestSplitPutsPeopleFirst(t *testing.T) {
	a, b, c, d := &pending{}, &pending{bulk: true}, &pending{}, &pending{bulk: true}
	people, bulk := split([]*pending{a, b, c, d})
	if !slices.Equal(people, []*pending{a, c}) || !slices.Equal(bulk, []*pending{b, d}) {
		t.Fatalf("split = %v, %v", people, bulk)
	}
	batch := []*pending{a, c}
	if people, bulk := split(batch); !slices.Equal(people, batch) || bulk != nil {
		t.Fatalf("split of a batch with no bulk work = %v, %v", people, bulk)
	}
	if _, ok := any(Fanout{}).(bulkCommand); !ok {
		t.Fatal("fan-out rounds are not bulk work")
	}
}

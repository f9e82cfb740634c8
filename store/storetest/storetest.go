// Package storetest helps the tests of packages that use the store run
// against any number of partitions: `make test` runs them with one and
// again with four (APERTURE_TEST_PARTITIONS=4), and every answer must be
// the same.
package storetest

import (
	"os"
	"strconv"

	"aperture/store"
)

// Partitions returns the partition count tests make new data
// directories with: APERTURE_TEST_PARTITIONS, or 1.
func Partitions() int {
	n, err := strconv.Atoi(os.Getenv("APERTURE_TEST_PARTITIONS"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// P returns opt with the tests' partition count, unless opt names one.
func P(opt store.Options) store.Options {
	if opt.Partitions == 0 {
		opt.Partitions = Partitions()
	}
	return opt
}

// Open opens dir as store.Open does, with the tests' partition count if
// dir holds no data directory yet.
func Open(dir string, opt store.Options) (*store.Store, error) {
	if len(store.DataFiles(dir)) == 0 {
		opt = P(opt)
	}
	return store.Open(dir, opt)
}

// Package search owns aperture's bleve index (DATA/search): text,
// hashtags, people and geo points, kept current by outbox jobs and rebuilt
// from bbolt by "aperture reindex". No other package touches bleve.
package search

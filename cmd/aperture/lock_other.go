//go:build !unix

package main

// lockedByAnother cannot tell here; store.Open reports a locked file.
func lockedByAnother(string) bool { return false }

// Package feed builds what people read: the home feed from per-user
// inboxes filled by fan-out workers, activity, and explore ranking. It
// reads and writes through package store's commands.
package feed

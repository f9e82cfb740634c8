package store

import "strings"

// PushAlert queues a push message about the instance's health (an alert
// firing or resolving, or a test) to every browser in which an
// administrator turned push on. Quiet hours and per-type preferences do
// not apply: an administrator asked to be told. It returns the messages
// queued; ErrForbidden when the account is not an administrator.
type PushAlert struct {
	Meta
	UserID ID     `json:"user_id"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	URL    string `json:"url"`
}

// Shard returns the administrator's shard.
func (c PushAlert) Shard() uint16 { return c.UserID.Shard() }

func (c PushAlert) apply(tx *Tx) (int, error) {
	u, err := tx.user(c.UserID)
	if err != nil {
		return 0, err
	}
	if !u.Admin || u.Deleted {
		return 0, Errorf(ErrForbidden, "Alerts are pushed to administrators only.")
	}
	if strings.TrimSpace(c.Title) == "" || len(c.Title) > 200 || len(c.Body) > 1000 || !strings.HasPrefix(c.URL, "/") {
		return 0, Invalid("title", "An alert's push has a title (up to 200 bytes), a body (up to 1,000) and a link on this site.")
	}
	var subs []ID
	tx.walkOldest(bPushSubs, c.UserID, 0, func(id ID) bool { subs = append(subs, id); return true })
	for _, id := range subs {
		if err := tx.enqueue(JobPush, PushJob{Sub: id, Title: c.Title, Body: c.Body, URL: c.URL}); err != nil {
			return 0, err
		}
	}
	return len(subs), nil
}

package web

import (
	"time"

	"aperture/store"
)

// UserView is a user as anyone may see it.
type UserView struct {
	ID           store.ID      `json:"id" doc:"The user's ID, a decimal string"`
	Username     string        `json:"username"`
	DisplayName  string        `json:"display_name"`
	Bio          string        `json:"bio"`
	Website      string        `json:"website"`
	Avatar       *string       `json:"avatar" doc:"URL of the avatar, or null"`
	Private      bool          `json:"private"`
	Counts       store.Counts  `json:"counts"`
	Relationship *Relationship `json:"relationship,omitempty" doc:"The signed-in viewer's relationship to the user; absent for anonymous viewers"`
}

// Relationship is how the viewer and a user are connected.
type Relationship struct {
	Following  bool `json:"following"`
	FollowedBy bool `json:"followed_by"`
	Requested  bool `json:"requested"`
	Blocking   bool `json:"blocking"`
}

// MeView is the signed-in user, with private fields.
type MeView struct {
	UserView
	Email     string    `json:"email"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
}

func userView(u *store.User) UserView {
	return UserView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Bio: u.Bio,
		Website: u.Website, Private: u.Private, Counts: u.Counts}
}

func meView(u *store.User) MeView {
	return MeView{UserView: userView(u), Email: u.Email, Admin: u.Admin, CreatedAt: u.CreatedAt}
}

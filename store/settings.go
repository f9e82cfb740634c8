package store

// Settings are the instance's own settings, changed by administrators.
type Settings struct {
	// Registration is open, closed, or invite (sign-up needs an invitation
	// code from an administrator).
	Registration string `json:"registration"`
	// MaxUploadMB lowers the server's upload limit; 0 keeps it.
	MaxUploadMB int `json:"max_upload_mb,omitempty"`
}

// Registration policies.
const (
	RegistrationOpen   = "open"
	RegistrationClosed = "closed"
	RegistrationInvite = "invite"
)

package web

// Helpers of the package's own tests that the external tests share.
var (
	HostileNexts = hostile
	ResolvesHome = resolvesHome
)

package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are set by the Makefile with -ldflags -X.
var (
	version = "dev"
	commit  = ""
)

func versionString() string {
	s := "aperture " + version
	if commit != "" {
		s += " (" + commit + ")"
	}
	s += fmt.Sprintf(", %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && commit == "" {
				s += ", revision " + kv.Value
			}
		}
		// The libraries built in, with their versions.
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			s += fmt.Sprintf("\n  %s %s", d.Path, d.Version)
		}
	}
	return s
}

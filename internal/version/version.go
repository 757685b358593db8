// Package version says which build is running: the version given at link
// time, and the commit the Go toolchain recorded (vcs.revision), so that
// `egressguard version`, the start-up log and the build_info metric name
// the same build.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is set at link time:
//
//	go build -ldflags "-X github.com/egressguard/egressguard/internal/version.Version=v1.2.3"
//
// (the command's main.version is copied here too).
var Version = "dev"

// Revision may be set at link time when the build has no VCS
// information (a source tarball); otherwise it comes from the toolchain.
var Revision = ""

// Info describes the build.
type Info struct {
	Version  string `json:"version"`
	Revision string `json:"revision"` // commit hash, "" if unknown
	Time     string `json:"time"`     // commit time, RFC 3339, "" if unknown
	Modified bool   `json:"modified"` // built from a work tree with changes
	Go       string `json:"go"`
}

// Get returns the build's description.
func Get() Info {
	in := Info{Version: Version, Revision: Revision, Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return in
	}
	if in.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		in.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if in.Revision == "" {
				in.Revision = s.Value
			}
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is one line: "dev (commit 0123abc…, modified, go1.25.0)".
func (i Info) String() string {
	s := i.Version + " ("
	if i.Revision != "" {
		s += "commit " + i.Revision
		if i.Modified {
			s += ", modified"
		}
		if i.Time != "" {
			s += ", " + i.Time
		}
	} else {
		s += "commit unknown"
	}
	return s + ", " + i.Go + ")"
}

// Package tz shows times to people: in the one time zone the guard is
// configured with (time_zone; default the server's), and always with the
// zone named, as "2026-12-02 21:37 JST (+09:00)", so that a time read in
// the console, in a notice or on the command line means the same moment.
package tz

import (
	"fmt"
	"strings"
	"time"

	// The zone database is embedded, so that a container without
	// /usr/share/zoneinfo still knows Asia/Tokyo.
	_ "time/tzdata"
)

// Zone is a time zone for display. The zero Zone is the server's zone.
type Zone struct{ loc *time.Location }

// Load returns the zone named by an IANA name ("Asia/Tokyo", "UTC");
// "" or "Local" is the server's zone.
func Load(name string) (Zone, error) {
	name = strings.TrimSpace(name)
	if name == "" || name == "Local" {
		return Zone{}, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return Zone{}, fmt.Errorf("unknown time zone %q", name)
	}
	return Zone{loc: loc}, nil
}

// Of returns a Zone for loc (nil: the server's zone).
func Of(loc *time.Location) Zone { return Zone{loc: loc} }

// Location is the zone as a *time.Location.
func (z Zone) Location() *time.Location {
	if z.loc == nil {
		return time.Local
	}
	return z.loc
}

// Name is the IANA name ("Asia/Tokyo"), or "Local".
func (z Zone) Name() string { return z.Location().String() }

// In returns t in the zone.
func (z Zone) In(t time.Time) time.Time { return t.In(z.Location()) }

// Label names the zone at t: "JST (+09:00)", or "UTC+05:30" for a zone
// without an abbreviation.
func (z Zone) Label(t time.Time) string {
	t = z.In(t)
	abbr, off := t.Format("MST"), t.Format("-07:00")
	if abbr == "" || abbr[0] == '+' || abbr[0] == '-' {
		return "UTC" + off
	}
	return abbr + " (" + off + ")"
}

// Minute formats t to the minute with the zone: "2026-12-02 21:37 JST (+09:00)".
// The zero time is "-".
func (z Zone) Minute(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return z.In(t).Format("2006-01-02 15:04") + " " + z.Label(t)
}

// Second formats t to the second with the zone.
func (z Zone) Second(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return z.In(t).Format("2006-01-02 15:04:05") + " " + z.Label(t)
}

// Date parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" (also with a space) in
// the zone, or RFC 3339 with its own offset.
func (z Zone) Parse(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, z.Location()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use YYYY-MM-DD, YYYY-MM-DDTHH:MM, RFC 3339, or a duration such as 24h", s)
}

package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/policy"
)

// Duration is a time.Duration written as a Go duration string ("90s",
// "5m", "120h") in the config file.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasSuffix(s, "d") { // days are common in retention settings
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil {
			return fmt.Errorf("invalid duration %q (use e.g. \"30s\", \"10m\", \"72h\", \"30d\")", s)
		}
		*d = Duration(n * 24 * float64(time.Hour))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. \"30s\", \"10m\", \"72h\", \"30d\")", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Size is a byte count written as a number or with a unit ("25MB",
// "512KiB"; KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024). It is the
// policy rules' size type, so that one parser reads every size in the file.
type Size = policy.ByteSize

package clinical

import (
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/record"
)

// ParseDurationDays reads how long one issue of a prescription lasts, as it
// is typed on the CLI (--duration) and in the workstation: days as N or Nd,
// or weeks as Nw, up to a year; "" is none.
func ParseDurationDays(s string) (int, error) {
	v := strings.TrimSpace(strings.ToLower(s))
	if v == "" {
		return 0, nil
	}
	mult := 1
	switch {
	case strings.HasSuffix(v, "d"):
		v = strings.TrimSuffix(v, "d")
	case strings.HasSuffix(v, "w"):
		v, mult = strings.TrimSuffix(v, "w"), 7
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n*mult > 366 {
		return 0, record.Invalid("duration", s, "must be days (28 or 28d) or weeks (4w), up to a year")
	}
	return n * mult, nil
}

// Package timevalue parses Elasticsearch TimeValue strings ("30d", "12h",
// "500ms"), the syntax of an API key's `expiration`. It lives on its own
// because the manifest checker, the diff and the emulator must all agree on
// exactly what Elasticsearch accepts.
package timevalue

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Units in the order they must be tried: longest suffix first, so that "ms"
// is not read as "m" + garbage and "nanos" not as "s".
var units = []struct {
	suffix string
	d      time.Duration
}{
	{"nanos", time.Nanosecond},
	{"micros", time.Microsecond},
	{"ms", time.Millisecond},
	{"s", time.Second},
	{"m", time.Minute},
	{"h", time.Hour},
	{"d", 24 * time.Hour},
}

// Parse parses an Elasticsearch TimeValue. Like Elasticsearch it accepts the
// units nanos, micros, ms, s, m, h and d with a non-negative whole number, and
// the unit-less values "0" and "-1" (-1 means "no value"). There is no w, M
// or y. The error text follows Elasticsearch's own.
func Parse(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	if t == "-1" {
		return -1, nil
	}
	lower := strings.ToLower(t)
	for _, u := range units {
		if !strings.HasSuffix(lower, u.suffix) {
			continue
		}
		num := strings.TrimSpace(t[:len(t)-len(u.suffix)])
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n < 0 || num == "" || num[0] == '+' {
			if _, ferr := strconv.ParseFloat(num, 64); ferr == nil && strings.Contains(num, ".") {
				return 0, fmt.Errorf("failed to parse [%s], fractional time values are not supported", s)
			}
			return 0, unrecognized(s)
		}
		if n > int64(1<<63-1)/int64(u.d) {
			return 0, fmt.Errorf("failed to parse [%s]: value too large", s)
		}
		return time.Duration(n) * u.d, nil
	}
	return 0, unrecognized(s)
}

func unrecognized(s string) error {
	return fmt.Errorf("failed to parse setting [expiration] with value [%s] as a time value: unit is missing or unrecognized", s)
}

// Format renders a duration in the largest whole Elasticsearch unit, the
// inverse of Parse for the values slsync writes ("30d", "36h", "90s").
func Format(d time.Duration) string {
	switch {
	case d < 0:
		return "-1"
	case d == 0:
		return "0"
	}
	for i := len(units) - 1; i >= 0; i-- {
		if d%units[i].d == 0 {
			return strconv.FormatInt(int64(d/units[i].d), 10) + units[i].suffix
		}
	}
	return strconv.FormatInt(int64(d), 10) + "nanos"
}

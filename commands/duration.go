package commands

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// durationUnits are the units a duration argument may use, largest first.
// Weeks are read but not written: [FormatDuration] writes 14d for 2w.
var durationUnits = []struct {
	name byte
	size time.Duration
}{
	{'w', 7 * 24 * time.Hour},
	{'d', 24 * time.Hour},
	{'h', time.Hour},
	{'m', time.Minute},
	{'s', time.Second},
}

// ParseDuration reads a duration argument: one or more groups of a whole
// number and a unit (s, m, h, d or w), such as 30m, 1h, 7d or 1h30m, in
// either case; or the word "off", which gives off true and a zero duration.
// The duration must be more than zero and fit in an int64 of nanoseconds.
// An error is a *[UserError] saying what is wrong in words.
func ParseDuration(s string) (d time.Duration, off bool, err error) {
	text := strings.ToLower(s)
	if text == "off" {
		return 0, true, nil
	}
	if text == "" {
		return 0, false, durationError(s, "it is empty")
	}
	for text != "" {
		i := 0
		for i < len(text) && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		if i == 0 || i == len(text) {
			return 0, false, durationError(s, "use a number and a unit, like 30m, 1h or 7d (units s, m, h, d, w), or off")
		}
		size, ok := unitSize(text[i])
		if !ok {
			return 0, false, durationError(s, fmt.Sprintf("%q is not a unit; use s, m, h, d or w", text[i]))
		}
		n, ok := parseCount(text[:i])
		if !ok || n > int64(math.MaxInt64/size) || int64(d) > math.MaxInt64-n*int64(size) {
			return 0, false, durationError(s, "it is too long")
		}
		d += time.Duration(n) * size
		text = text[i+1:]
	}
	if d <= 0 {
		return 0, false, durationError(s, "it must be more than zero; write off to turn it off")
	}
	return d, false, nil
}

func unitSize(c byte) (time.Duration, bool) {
	for _, u := range durationUnits {
		if u.name == c {
			return u.size, true
		}
	}
	return 0, false
}

// parseCount reads decimal digits, refusing anything over 18 digits.
func parseCount(s string) (int64, bool) {
	s = strings.TrimLeft(s, "0")
	if len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

func durationError(s, why string) error {
	return &UserError{Message: fmt.Sprintf("%q is not a duration: %s", snippet(s, 32), why)}
}

// FormatDuration writes d as [ParseDuration] reads it, in days, hours,
// minutes and seconds ("1d12h", "30m"); sub-second parts are dropped. A
// duration under one second is written "0s", which ParseDuration refuses.
func FormatDuration(d time.Duration) string {
	if d < time.Second {
		return "0s"
	}
	var b strings.Builder
	for _, u := range durationUnits[1:] {
		if n := d / u.size; n > 0 {
			fmt.Fprintf(&b, "%d%c", n, u.name)
			d -= n * u.size
		}
	}
	return b.String()
}

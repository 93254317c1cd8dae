package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// sinceValue is a duration flag that also takes days and weeks (1d, 2w, 1d12h), as people
// write them and as journalctl and stern accept them; time.ParseDuration stops at hours.
type sinceValue struct{ d *time.Duration }

func (v sinceValue) String() string {
	if v.d == nil || *v.d == 0 {
		return "0s"
	}
	return v.d.String()
}

func (v sinceValue) Type() string { return "duration" }

func (v sinceValue) Set(s string) error {
	d, err := parseLongDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// parseLongDuration parses a Go duration with optional leading weeks and days: 2w, 1d, 1d12h.
func parseLongDuration(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	var total time.Duration
	for _, unit := range []struct {
		suffix string
		d      time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i > 0 && i < len(rest) && rest[i:i+1] == unit.suffix {
			n, err := strconv.Atoi(rest[:i])
			if err != nil {
				return 0, fmt.Errorf("%q: %w", s, err)
			}
			total += time.Duration(n) * unit.d
			rest = rest[i+1:]
		}
	}
	if rest == "" {
		if total == 0 && strings.TrimSpace(s) == "" {
			return 0, fmt.Errorf("empty duration")
		}
		return total, nil
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, fmt.Errorf("%q: want a duration like 30s, 10m, 2h, 1d or 1d12h", s)
	}
	return total + d, nil
}

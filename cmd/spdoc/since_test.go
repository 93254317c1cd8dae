package main

import (
	"testing"
	"time"
)

func TestParseLongDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"10m": 10 * time.Minute, "1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour,
		"1w1d": 8 * 24 * time.Hour, "90s": 90 * time.Second, "0": 0,
	} {
		if got, err := parseLongDuration(in); err != nil || got != want {
			t.Errorf("%q = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "1x", "1d2", "-", "1.5d"} {
		if _, err := parseLongDuration(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

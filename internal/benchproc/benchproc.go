// Package benchproc measures a process from /proc for the benchmarks under bench/ (CPU time,
// resident memory) and formats what they print (quantiles, machine, markdown sections).
package benchproc

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ClockTicks is USER_HZ on Linux: the unit of /proc/<pid>/stat times.
const ClockTicks = 100

// CPUTicks is the user+system CPU time of pid in clock ticks (/proc/<pid>/stat).
func CPUTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command (which may contain spaces) start after the last ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64) // field 14 utime
	st, err2 := strconv.ParseUint(f[12], 10, 64) // field 15 stime
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	return ut + st, nil
}

var vmRE = map[string]*regexp.Regexp{
	"VmRSS": regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB`),
	"VmHWM": regexp.MustCompile(`(?m)^VmHWM:\s+(\d+) kB`),
}

// Memory is the resident set (VmRSS) and its peak (VmHWM) of pid in KiB.
func Memory(pid int) (rssKB, hwmKB int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	get := func(key string) int64 {
		m := vmRE[key].FindSubmatch(b)
		if m == nil {
			return 0
		}
		v, _ := strconv.ParseInt(string(m[1]), 10, 64)
		return v
	}
	return get("VmRSS"), get("VmHWM"), nil
}

// Q is the p-th percentile of ds (nearest rank), formatted ("-" when empty).
func Q(ds []time.Duration, p int) string {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return "-"
	}
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	d := s[i]
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}

// HostInfo is the CPU model name.
func HostInfo() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOOS + "/" + runtime.GOARCH
	}
	if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); m != nil {
		return strings.TrimSpace(string(m[1]))
	}
	return runtime.GOOS + "/" + runtime.GOARCH
}

// LoadAvg is the 1-minute load average.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// WriteSection replaces the section of a markdown file that starts with the line heading (up to
// the next "## "), or appends it; other sections are left as they are.
func WriteSection(path, heading, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	start := strings.Index(s, heading+"\n")
	if start < 0 {
		if s == "" {
			s = "# Benchmarks\n\n"
		} else if !strings.HasSuffix(s, "\n\n") {
			s = strings.TrimRight(s, "\n") + "\n\n"
		}
		s += section
	} else {
		end := len(s)
		if k := strings.Index(s[start+1:], "\n## "); k >= 0 {
			end = start + 1 + k + 1
		}
		s = s[:start] + section + s[end:]
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// Poll calls cond every 20 ms until it holds or timeout passes.
func Poll(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

package kubeletlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/safefs"
)

// Rotated lists the rotated siblings of the log file at path, oldest first, so that a caller can
// read history across rotation (then path itself): logrotate's numbered copies (`kubelet.log.1`,
// `kubelet.log.2.gz`, higher is older) and dated copies (`kubelet.log-20241124`,
// `kubelet.log-20241124.gz`, `kubelet.log.20241124-120000`, by date). Compression is not part of
// the name's meaning: read each with Open or ScanFile. Unreadable directories yield nil.
func Rotated(path string) []string {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := safefs.ReadDir(dir)
	if err != nil {
		return nil
	}
	type rotated struct {
		path  string
		num   int       // numbered: higher is older
		date  time.Time // dated
		mtime time.Time
	}
	var nums, dates []rotated
	for _, e := range entries {
		name := e.Name()
		if name == base || !strings.HasPrefix(name, base) || e.IsDir() {
			continue
		}
		suffix := strings.TrimSuffix(name[len(base):], ".gz")
		if len(suffix) < 2 || (suffix[0] != '.' && suffix[0] != '-') {
			continue
		}
		r := rotated{path: filepath.Join(dir, name)}
		if info, err := e.Info(); err == nil {
			r.mtime = info.ModTime()
		}
		s := suffix[1:]
		if n, err := strconv.Atoi(s); err == nil && len(s) < 6 {
			r.num = n
			nums = append(nums, r)
			continue
		}
		var t time.Time
		for _, layout := range []string{"20060102", "20060102-150405", "20060102150405", "2006-01-02", "20060102-15", "2006-01-02T15-04-05"} {
			if t, err = time.Parse(layout, s); err == nil {
				break
			}
		}
		if t.IsZero() {
			continue // kubelet.log.bak, kubelet.log-old…: not a rotation scheme we know
		}
		r.date = t
		dates = append(dates, r)
	}
	sort.SliceStable(nums, func(i, j int) bool { return nums[i].num > nums[j].num })
	sort.SliceStable(dates, func(i, j int) bool { return dates[i].date.Before(dates[j].date) })
	all := append(dates, nums...)
	if len(nums) > 0 && len(dates) > 0 {
		// Two schemes side by side (a changed logrotate config): order by modification time.
		sort.SliceStable(all, func(i, j int) bool { return all[i].mtime.Before(all[j].mtime) })
	}
	out := make([]string, len(all))
	for i, r := range all {
		out[i] = r.path
	}
	return out
}

// ScanHistory scans the rotated siblings of path, oldest first, then path itself, as one log.
// Files that end before opts.Since are skipped cheaply on the uncompressed ones (ScanFile seeks).
// Stats are summed; a rotated file that vanished meanwhile is skipped.
func ScanHistory(ctx context.Context, path string, opts ScanOptions, fn func(*Record) error) (Stats, error) {
	var total Stats
	files := append(Rotated(path), path)
	for _, f := range files {
		o := opts
		o.Source = f
		st, err := ScanFile(ctx, f, o, fn)
		total.add(st)
		if err != nil {
			if f != path && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return total, err
		}
	}
	return total, nil
}

// add sums o into s, keeping the earliest First and latest Last.
func (s *Stats) add(o Stats) {
	s.Bytes += o.Bytes
	s.Lines += o.Lines
	s.Parsed += o.Parsed
	s.Skipped += o.Skipped
	s.Relevant += o.Relevant
	if s.First.IsZero() || (!o.First.IsZero() && o.First.Before(s.First)) {
		s.First = o.First
	}
	if o.Last.After(s.Last) {
		s.Last = o.Last
	}
	s.addFacts(o)
}

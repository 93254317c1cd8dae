package node

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/spdoc/spdoc/internal/kernlog"
	"github.com/spdoc/spdoc/internal/safefs"
)

// MaxKernelEvents caps the kernel events a snapshot keeps (the newest; Truncated says so).
const MaxKernelEvents = 2000

// maxKernelFile caps a kernel log file read from a copied node (a ring buffer is at most a few
// MiB; a kern.log can be larger, and only its events are kept).
const maxKernelFile = 512 << 20

// KernelLogFiles are the kernel logs a copied node (--root) may hold, in the order they are
// tried: dmesg output (Debian and Ubuntu write /var/log/dmesg at boot) and rsyslog's kern.log.
var KernelLogFiles = []string{"var/log/dmesg", "var/log/kern.log"}

// KernelLogState is what the kernel's log (its ring buffer as dmesg, talosctl or rsyslog wrote
// it) says the kernel did to the node's processes: OOM kills, faults, hung tasks, disk and
// network errors. Nil when no kernel log was read.
type KernelLogState struct {
	Source    string          `json:"source"`
	Error     string          `json:"error,omitempty"`
	Stats     kernlog.Stats   `json:"stats"`
	Events    []kernlog.Event `json:"events,omitempty"`
	Truncated bool            `json:"truncated,omitempty"`
}

// KernelDevice is the kernel's ring buffer: --kernel-log /dev/kmsg reads it on this machine.
const KernelDevice = "/dev/kmsg"

// ReadKernelLog scans a kernel log into its state; a read error is kept in Error with what was
// read before it.
func ReadKernelLog(ctx context.Context, r io.Reader, source string) *KernelLogState {
	return readKernelLog(ctx, r, source, time.Time{})
}

func readKernelLog(ctx context.Context, r io.Reader, source string, boot time.Time) *KernelLogState {
	ks := &KernelLogState{Source: source}
	st, err := kernlog.ScanBooted(ctx, r, source, boot, func(e kernlog.Event) error {
		if len(ks.Events) >= MaxKernelEvents {
			copy(ks.Events, ks.Events[1:])
			ks.Events = ks.Events[:len(ks.Events)-1]
			ks.Truncated = true
		}
		ks.Events = append(ks.Events, e)
		return nil
	})
	ks.Stats = st
	if err != nil {
		ks.Error = err.Error()
	}
	return ks
}

// kernelLog reads LocalOptions.KernelLog, else the first of KernelLogFiles a copied node holds
// (nil: none, or a live node without --kernel-log).
func (l *Local) kernelLog(ctx context.Context) *KernelLogState {
	var paths []string
	switch {
	case l.opts.KernelLog != "":
		paths = []string{l.opts.KernelLog}
	case l.opts.Root != "":
		for _, name := range KernelLogFiles {
			paths = append(paths, filepath.Join(l.opts.Root, name))
		}
	}
	if l.opts.KernelLog == KernelDevice {
		return readKmsg(ctx)
	}
	for _, p := range paths {
		f, err := safefs.Open(p)
		if errors.Is(err, fs.ErrNotExist) && l.opts.KernelLog == "" {
			continue
		}
		if err != nil {
			return &KernelLogState{Source: p, Error: err.Error()}
		}
		ks := ReadKernelLog(ctx, io.LimitReader(f, maxKernelFile), p)
		f.Close()
		return ks
	}
	return nil
}

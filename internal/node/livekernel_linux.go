//go:build linux

package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/spdoc/spdoc/internal/kernlog"
)

// followKmsg follows the kernel's ring buffer: /dev/kmsg opened non-blocking gives one record a
// read from the oldest kept, then EAGAIN at its end; each KernelLogPoll the records logged since
// are read. Records overwritten before they were read (EPIPE) are skipped, as dmesg does.
func (l *Local) followKmsg(ctx context.Context, onEvent func(kernlog.Event)) error {
	fd, err := syscall.Open(KernelDevice, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w (it needs root, or CAP_SYSLOG with kernel.dmesg_restrict)", KernelDevice, err)
	}
	defer syscall.Close(fd)
	kf := l.newKernelFollower(KernelDevice, bootTime(), onEvent)
	defer func() { kf.withdraw() }()
	buf := make([]byte, 16<<10) // a record is at most 8 KiB with its escapes
	for ctx.Err() == nil {
		n, err := syscall.Read(fd, buf)
		switch {
		case err == nil && n > 0:
			// One record: its line, then its dictionary lines (" KEY=value").
			for line := range strings.SplitSeq(strings.TrimSuffix(string(buf[:n]), "\n"), "\n") {
				kf.line(line, false)
			}
			continue
		case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EINTR):
			continue // overwritten while read; interrupted
		case err == nil, errors.Is(err, syscall.EAGAIN):
			kf.caughtUp()
			sleepCtx(ctx, KernelLogPoll)
		default:
			return fmt.Errorf("reading %s: %w", KernelDevice, err)
		}
	}
	return ctx.Err()
}

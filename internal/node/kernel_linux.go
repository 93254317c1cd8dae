//go:build linux

package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxKmsg caps what is read from /dev/kmsg (the ring buffer is log_buf_len: 128 KiB to a few MiB).
const maxKmsg = 64 << 20

// readKmsg reads the kernel's ring buffer from /dev/kmsg as it is now: one record a read, opened
// non-blocking so the end of the buffer is EAGAIN instead of a wait for the next record. Records
// get their wall time from the boot time (now minus /proc/uptime), as go-kmsg does for Talos.
func readKmsg(ctx context.Context) *KernelLogState {
	fd, err := syscall.Open(KernelDevice, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return &KernelLogState{Source: KernelDevice, Error: fmt.Sprintf("open %s: %v (it needs root, or CAP_SYSLOG with kernel.dmesg_restrict)", KernelDevice, err)}
	}
	defer syscall.Close(fd)
	var out bytes.Buffer
	buf := make([]byte, 8192) // a record is at most 8 KiB with its escapes
	for out.Len() < maxKmsg {
		if ctx.Err() != nil {
			return &KernelLogState{Source: KernelDevice, Error: ctx.Err().Error()}
		}
		n, err := syscall.Read(fd, buf)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return readKernelLog(ctx, &out, KernelDevice, bootTime())
		case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EINTR):
			continue // records overwritten while read: the next read goes on from the oldest kept
		case err != nil:
			return &KernelLogState{Source: KernelDevice, Error: fmt.Sprintf("reading %s: %v", KernelDevice, err)}
		case n == 0:
			return readKernelLog(ctx, &out, KernelDevice, bootTime())
		}
		out.Write(buf[:n])
	}
	return readKernelLog(ctx, &out, KernelDevice, bootTime())
}

// bootTime is when this machine booted (zero when /proc/uptime cannot be read).
func bootTime() time.Time {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return time.Time{}
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return time.Time{}
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return time.Time{}
	}
	return time.Now().Add(-time.Duration(secs * float64(time.Second)))
}

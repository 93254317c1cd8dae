//go:build !linux

package node

import (
	"context"
	"errors"

	"github.com/spdoc/spdoc/internal/kernlog"
)

// followKmsg: the kernel's ring buffer is read on Linux only.
func (l *Local) followKmsg(context.Context, func(kernlog.Event)) error {
	return errors.New(KernelDevice + " is read on Linux only")
}

//go:build !linux

package kubeletlog

import (
	"context"
	"os"
)

// scanMapped: files are read, not mapped, here.
func (lp *lineProc) scanMapped(context.Context, *os.File, int64, int64, func(*Record) error) error {
	return errNoMap
}

//go:build !linux

package node

import "context"

// readKmsg: the kernel's ring buffer is read on Linux only.
func readKmsg(context.Context) *KernelLogState {
	return &KernelLogState{Source: KernelDevice, Error: KernelDevice + " is read on Linux only"}
}

// Command pause is the sandbox ("pause") process of the test node's pod sandboxes: it does nothing
// until SIGTERM or SIGINT and then exits 0. It is built statically at test time and packed into
// the spdoc.local/pause image by the testnode harness.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	// As PID 1 of the sandbox, reap orphaned children so they do not pile up as zombies.
	signal.Notify(sigs, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}

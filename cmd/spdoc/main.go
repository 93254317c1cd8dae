// Command spdoc is the static pod doctor. main only builds the command tree; every command lives
// in its own file here as a thin options struct (Complete → Validate → Run) over a library package.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// shutdownGrace is how long spdoc may take to stop after SIGINT/SIGTERM (the agent's graceful
// HTTP shutdown takes up to 5 s) before it exits anyway: a read blocked in the kernel must not
// make the signal a no-op.
const shutdownGrace = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal now kills at once
		time.Sleep(shutdownGrace)
		fmt.Fprintf(os.Stderr, "spdoc: interrupted: still not stopped after %s, exiting\n", shutdownGrace)
		os.Exit(130)
	}()
	cmd := newRootCmd()
	err := cmd.ExecuteContext(ctx)
	var ec exitCodeError
	if err != nil && !errors.As(err, &ec) {
		fmt.Fprintln(os.Stderr, "spdoc:", err)
	}
	os.Exit(exitCode(err))
}

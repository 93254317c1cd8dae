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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCmd()
	err := cmd.ExecuteContext(ctx)
	var ec exitCodeError
	if err != nil && !errors.As(err, &ec) {
		fmt.Fprintln(os.Stderr, "spdoc:", err)
	}
	os.Exit(exitCode(err))
}

// Command reaper removes a test node when the test process that started it dies without cleaning
// up: it blocks reading stdin, a pipe whose write end only the test process holds, and at EOF
// runs testnode.RemoveDir on the node dir given as its argument. testnode starts one per node.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spdoc/spdoc/internal/testnode"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: reaper NODE_DIR  (started by internal/testnode)")
		os.Exit(2)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := testnode.RemoveDir(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "reaper:", err)
		os.Exit(1)
	}
}

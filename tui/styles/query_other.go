//go:build !unix

package styles

import (
	"os"
	"time"
)

func queryDarkBackground(_, _ *os.File, _ time.Duration) (dark, ok bool) { return false, false }

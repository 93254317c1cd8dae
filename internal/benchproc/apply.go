package benchproc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// ApplyWatch times an agent's config→manifest path: it watches the manifest dir with fsnotify,
// and each Change rewrites the config by rename (like an editor) and waits until one manifest
// carries the change.
type ApplyWatch struct {
	w           *fsnotify.Watcher
	cfg, target string
}

// WatchApply watches md for changes of the manifest named target, for changes made to cfg.
func WatchApply(cfg, md, target string) (*ApplyWatch, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(md); err != nil {
		w.Close()
		return nil, err
	}
	return &ApplyWatch{w: w, cfg: cfg, target: filepath.Join(md, target)}, nil
}

// Change writes data as the new config (a temporary file renamed over it) and returns the time
// from the rename until the manifest contains want (at most 10 s).
func (a *ApplyWatch) Change(data, want []byte) (time.Duration, error) {
	tmp := a.cfg + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := os.Rename(tmp, a.cfg); err != nil {
		return 0, err
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-a.w.Events:
			if ev.Name != a.target {
				continue
			}
			if b, err := os.ReadFile(a.target); err == nil && bytes.Contains(b, want) {
				return time.Since(t0), nil
			}
		case err := <-a.w.Errors:
			return 0, err
		case <-timeout:
			return 0, fmt.Errorf("the change did not reach %s within 10s", a.target)
		}
	}
}

// Close stops watching.
func (a *ApplyWatch) Close() error { return a.w.Close() }

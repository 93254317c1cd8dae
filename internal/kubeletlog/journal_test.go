package kubeletlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeJournalctl puts a journalctl script first in PATH that records its arguments and runs body.
func fakeJournalctl(t *testing.T, body string) (argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	script := "#!/bin/sh\necho \"$@\" > " + argsFile + "\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(dir, "journalctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return argsFile
}

func TestJournal(t *testing.T) {
	entries := `{"__REALTIME_TIMESTAMP":"1732485304100165","_PID":"1234","MESSAGE":"E1124 21:55:04.100165    1234 file.go:187] \"Could not process manifest file\" path=\"/etc/kubernetes/manifests/x.yaml\" err=\"bad\""}
{"__REALTIME_TIMESTAMP":"1732485305000000","_PID":"1234","MESSAGE":"I1124 21:55:05.000000    1234 kubelet.go:1] \"SyncLoop (housekeeping)\""}`
	argsFile := fakeJournalctl(t, "cat <<'EOF'\n"+entries+"\nEOF")
	since := time.Date(2024, 11, 24, 21, 0, 0, 0, time.Local)
	rc, err := Journal(context.Background(), "kubelet", since)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var recs []*Record
	st, err := Scan(context.Background(), rc, ScanOptions{Source: "journal", Prefilter: Interesting}, func(r *Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lines != 2 || len(recs) != 1 || recs[0].Path != "/etc/kubernetes/manifests/x.yaml" || recs[0].Format != FormatJournal || recs[0].Source != "journal" {
		t.Fatalf("stats %+v, records %+v", st, recs)
	}
	args, _ := os.ReadFile(argsFile)
	if want := "-u kubelet -o json --no-pager --since 2024-11-24 21:00:00"; strings.TrimSpace(string(args)) != want {
		t.Errorf("journalctl args %q, want %q", args, want)
	}
}

func TestJournalNoEntries(t *testing.T) {
	fakeJournalctl(t, "echo 'No journal files were found.' >&2")
	rc, err := Journal(context.Background(), "kubelet", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = Scan(context.Background(), rc, ScanOptions{Source: "journal"}, func(*Record) error { return nil })
	if !errors.Is(err, ErrNoJournalEntries) || !strings.Contains(err.Error(), `"kubelet"`) || !strings.Contains(err.Error(), "No journal files were found") {
		t.Errorf("err = %v, want ErrNoJournalEntries naming the unit with journalctl's message", err)
	}
}

func TestJournalFails(t *testing.T) {
	fakeJournalctl(t, "echo 'Failed to add match' >&2; exit 1")
	rc, err := Journal(context.Background(), "kubelet", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = Scan(context.Background(), rc, ScanOptions{}, func(*Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "Failed to add match") {
		t.Errorf("err = %v, want journalctl's failure", err)
	}
}

func TestJournalMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := Journal(context.Background(), "kubelet", time.Time{}); err == nil || !strings.Contains(err.Error(), "journalctl not found") {
		t.Errorf("err = %v, want journalctl not found", err)
	}
}

package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// ErrRotationGap ends a live follow when the kubelet log was emptied in place (copytruncate):
// the lines written between the last read and the truncation are gone from the follower's view,
// so the state is read again from the files.
var ErrRotationGap = errors.New("the kubelet log was truncated in place (copytruncate): records may have been missed")

// ErrNotLive is returned by FollowKubeletLog on a copied node or for stdin: there is nothing to follow.
var ErrNotLive = errors.New("the kubelet log of a copied node or of stdin cannot be followed")

// liveLog is the kubelet log part of a snapshot kept current as the log grows: the first read is
// the one a snapshot does (rotated siblings, then the current file from its start, or from Since),
// every later record is added as it is written. A snapshot then takes the log from memory instead
// of reading the files again. The records are the newest MaxRecords of the window, as a full read
// keeps them; memory is bounded by that cap whatever the records are.
type liveLog struct {
	max    int
	window time.Duration // Since of the snapshots (0: everything)
	path   string        // the followed file ("" for the journal)
	source string        // KubeletLogState.Source

	mu    sync.Mutex
	ready bool
	ring  []liveRecord
	start int // index of the oldest record once the ring is full
	// dropped is the newest timestamp of a record pushed out of the ring: the state is
	// truncated when it lies inside the window.
	dropped    time.Time
	droppedAny bool
	base       kubeletlog.Stats // the rotated files read first
	follow     kubeletlog.Stats // the followed file (or journal) up to the last catch-up
	errText    string
	// files are the files the records were read from, by generation: a rename rotation moves
	// a file to a new name, which its records then carry as a full read would show it.
	files []liveFile
	gen   int32
	seq   uint64 // records added: snapshots with the same seq see the same records
}

type liveRecord struct {
	rec kubeletlog.Record
	gen int32
}

type liveFile struct {
	fi    os.FileInfo
	name  string
	first time.Time // of its first record: whether a full read seeks past its start
}

// numbered says whether a full read with the window starting at cutoff would number the lines of
// f (a seek past the start of a file leaves them unknown), from the file's size now and its first
// record; the records keep the numbers the follow counted and show them only then.
func (f *liveFile) numbered(cutoff time.Time) bool {
	if cutoff.IsZero() || f.fi == nil {
		return true
	}
	size := f.fi.Size()
	if fi, err := os.Stat(f.name); err == nil && os.SameFile(fi, f.fi) {
		size = fi.Size()
	}
	if f.first.IsZero() {
		f.first = kubeletlog.FirstTime(f.name)
	}
	return !kubeletlog.SeeksPastStart(size, f.first, cutoff)
}

func newLiveLog(source, path string, max int, window time.Duration) *liveLog {
	return &liveLog{source: source, path: path, max: max, window: window}
}

// add keeps rec (copied) in the ring.
func (lv *liveLog) add(rec *kubeletlog.Record) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	lv.seq++
	r := liveRecord{rec: *rec, gen: lv.gen}
	if lv.ring == nil {
		lv.ring = make([]liveRecord, 0, min(lv.max, 1024))
	}
	if len(lv.ring) < lv.max {
		lv.ring = append(lv.ring, r)
		return
	}
	old := &lv.ring[lv.start]
	if ts := old.rec.TS; !lv.droppedAny || ts.After(lv.dropped) {
		lv.dropped = ts
	}
	lv.droppedAny = true
	*old = r
	lv.start = (lv.start + 1) % lv.max
}

// fileRead starts a new generation: the records added from now on come from the file fi.
func (lv *liveLog) fileRead(name string, fi os.FileInfo) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	lv.files = append(lv.files, liveFile{fi: fi, name: name, first: kubeletlog.FirstTime(name)})
	lv.gen = int32(len(lv.files) - 1)
}

// rotated renames the sources of the records after a rename rotation: each file read so far is
// looked up among the rotated siblings (a later gzip makes a new file: its records keep the old
// name).
func (lv *liveLog) rotated() {
	names := map[int]string{}
	siblings := kubeletlog.Rotated(lv.path)
	lv.mu.Lock()
	files := append([]liveFile(nil), lv.files...)
	lv.mu.Unlock()
	for i, f := range files {
		if f.fi == nil {
			continue
		}
		for _, s := range siblings {
			if fi, err := os.Stat(s); err == nil && os.SameFile(fi, f.fi) {
				if s != f.name {
					names[i] = s
				}
				break
			}
		}
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	for i, name := range names {
		lv.files[i].name = name
	}
	if len(names) == 0 {
		return
	}
	for i := range lv.ring {
		if name, ok := names[int(lv.ring[i].gen)]; ok {
			lv.ring[i].rec.Source = name
		}
	}
}

// caughtUp records the statistics of the follow at a moment every record so far was added.
func (lv *liveLog) caughtUp(st *kubeletlog.Stats) {
	var c kubeletlog.Stats
	c.Merge(*st)
	lv.mu.Lock()
	lv.follow, lv.ready = c, true
	lv.mu.Unlock()
}

func (lv *liveLog) isReady() bool {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return lv.ready
}

// state is the KubeletLogState a full read at now would give: the records of the window
// (Since before now), oldest first, in a slice of their own.
func (lv *liveLog) state(now time.Time) *KubeletLogState {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	var cutoff time.Time
	if lv.window > 0 {
		cutoff = now.Add(-lv.window)
	}
	n := len(lv.ring)
	at := func(i int) *kubeletlog.Record { return &lv.ring[(lv.start+i)%n].rec }
	first := 0
	if !cutoff.IsZero() {
		// The log is in time order: the records before the window are a prefix.
		for first < n && !at(first).TS.IsZero() && at(first).TS.Before(cutoff) {
			first++
		}
	}
	numbered := make([]bool, len(lv.files))
	for i := range lv.files {
		numbered[i] = lv.files[i].numbered(cutoff)
	}
	recs := make([]kubeletlog.Record, 0, n-first)
	for i := first; i < n; i++ {
		r := &lv.ring[(lv.start+i)%n]
		recs = append(recs, r.rec)
		if g := int(r.gen); g < len(numbered) && !numbered[g] {
			recs[len(recs)-1].Line = 0
		}
	}
	var st kubeletlog.Stats
	st.Merge(lv.base)
	st.Merge(lv.follow)
	truncated := lv.droppedAny && (cutoff.IsZero() || !lv.dropped.Before(cutoff))
	return &KubeletLogState{Source: lv.source, Stats: st, Records: recs, Truncated: truncated, Error: lv.errText}
}

// live is the follow under way, nil when none is (or it has not caught up yet).
func (l *Local) liveState() *liveLog {
	lv := l.followed.Load()
	if lv == nil || !lv.isReady() {
		return nil
	}
	return lv
}

// FollowKubeletLog reads the kubelet log like a snapshot does and then follows it (a file across
// rename rotation, or the journal), keeping the snapshot's kubelet log state current: from the
// moment it has caught up, Snapshot and Relog take the log from memory instead of reading it
// again. onRecord, when not nil, sees each new relevant record after that moment. It returns
// when ctx ends or the follow fails (ErrRotationGap when the file was truncated in place); the
// snapshots then read the log again until the next call has caught up. A live node only.
func (l *Local) FollowKubeletLog(ctx context.Context, onRecord func(*kubeletlog.Record)) error {
	if l.opts.Root != "" {
		return ErrNotLive
	}
	r := l.resolve()
	var err error
	switch src := r.KubeletLog; src {
	case KubeletLogStdin:
		return ErrNotLive
	case KubeletLogJournal:
		err = l.followJournalLive(ctx, onRecord)
	case KubeletLogAuto:
		err = l.followJournalLive(ctx, onRecord)
		if errors.Is(err, errJournalUnusable) || errors.Is(err, errNoJournalctl) {
			err = fmt.Errorf("no kubelet log found: %w", err)
			for _, p := range defaultLiveLogs {
				if _, serr := os.Stat(p); serr == nil {
					err = l.followFileLive(ctx, p, onRecord)
					break
				}
			}
		}
	default:
		err = l.followFileLive(ctx, src, onRecord)
	}
	return err
}

// publish makes lv the state snapshots read; the returned func withdraws it.
func (l *Local) publish(lv *liveLog) func() {
	l.followed.Store(lv)
	return func() { l.followed.CompareAndSwap(lv, nil) }
}

func (l *Local) followFileLive(ctx context.Context, path string, onRecord func(*kubeletlog.Record)) error {
	lv := newLiveLog(path, path, l.opts.MaxRecords, l.opts.Since)
	since := l.logSince(path, l.opts.Since)
	// The rotated siblings, oldest first, as ScanHistory reads them; only their newest
	// MaxRecords records are built.
	for _, f := range kubeletlog.Rotated(path) {
		fi, _ := os.Stat(f)
		lv.fileRead(f, fi)
		opts := kubeletlog.ScanOptions{Source: f, Since: since, Prefilter: kubeletlog.Interesting, Last: lv.max}
		st, err := kubeletlog.ScanFile(ctx, f, opts, func(rec *kubeletlog.Record) error {
			lv.add(rec)
			return nil
		})
		lv.base.Merge(st)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist):
		case errors.Is(err, kubeletlog.ErrDecompressedTooLarge):
			if lv.errText == "" {
				lv.errText = err.Error()
			}
		default:
			return err
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("kubelet log %s: %w", path, err)
	}
	lv.fileRead(path, fi)
	withdraw := func() {}
	defer func() { withdraw() }()
	fo := kubeletlog.FollowOptions{
		FromStart: true,
		CaughtUp: func(st *kubeletlog.Stats) {
			first := !lv.isReady()
			lv.caughtUp(st)
			if first {
				withdraw = l.publish(lv)
			}
		},
		Rotated: func(os.FileInfo) {
			lv.rotated()
			if fi, err := os.Stat(path); err == nil {
				lv.fileRead(path, fi)
			}
		},
		Truncated: func() error { return ErrRotationGap },
	}
	opts := kubeletlog.ScanOptions{Source: path, Since: since, Prefilter: kubeletlog.Interesting}
	return kubeletlog.FollowWith(ctx, path, opts, fo, func(rec *kubeletlog.Record) error {
		lv.add(rec)
		if onRecord != nil && lv.isReady() {
			onRecord(rec)
		}
		return nil
	})
}

// Relog returns a copy of s whose kubelet log part (and kernel log part, when FollowKernelLog
// has caught up) is the live state as of now (Taken is now): what a new snapshot would hold if
// nothing but the logs had changed. ok is false when no
// follow has caught up (the caller then takes a new snapshot).
func (l *Local) Relog(s *Snapshot) (_ *Snapshot, ok bool) {
	lv := l.liveState()
	if lv == nil || s == nil {
		return nil, false
	}
	c := *s
	c.Taken = l.now()
	c.KubeletLog = lv.state(c.Taken)
	c.Errors = nil
	lk := l.liveKernelState()
	if lk != nil {
		c.Kernel = lk.state()
	}
	for _, e := range s.Errors {
		if e.Source != "kubelet-log" && (lk == nil || e.Source != "kernel-log") {
			c.Errors = append(c.Errors, e)
		}
	}
	if c.KubeletLog.Error != "" {
		c.Errors = append(c.Errors, SourceError{Source: "kubelet-log", Error: c.KubeletLog.Error})
	}
	if v := kubeletVersion(c.KubeletLog.Records); v != "" {
		k := KubeletState{}
		if s.Kubelet != nil {
			k = *s.Kubelet
		}
		k.Version = v
		c.Kubelet = &k
	}
	return &c, true
}

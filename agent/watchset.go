package agent

import (
	"bytes"
	"encoding/json"
	"sort"
	"sync"

	"github.com/spdoc/spdoc/internal/api"
)

// subscriberBuffer is how many events a watcher may lag behind before it is dropped (its stream
// ends; the client reconnects and gets a fresh list).
const subscriberBuffer = 1024

// watchSet is a keyed collection that turns full snapshots into ADDED/MODIFIED/DELETED events
// and broadcasts them to subscribers. Equality is by JSON encoding, so unchanged items produce
// no events and a refresh that changes nothing costs no wakeups downstream.
type watchSet[T any] struct {
	key func(T) string

	mu    sync.Mutex
	items map[string]T
	enc   map[string][]byte
	subs  map[chan api.Event[T]]struct{}
}

func newWatchSet[T any](key func(T) string) *watchSet[T] {
	return &watchSet[T]{key: key, items: map[string]T{}, enc: map[string][]byte{}, subs: map[chan api.Event[T]]struct{}{}}
}

// Replace makes the set equal to items and returns how many events it broadcast.
func (s *watchSet[T]) Replace(items []T) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make(map[string]bool, len(items))
	n := 0
	for _, it := range items {
		k := s.key(it)
		next[k] = true
		b, err := json.Marshal(it)
		if err != nil {
			continue
		}
		old, ok := s.enc[k]
		switch {
		case !ok:
			s.broadcast(api.Event[T]{Type: api.Added, Object: it})
		case !bytes.Equal(old, b):
			s.broadcast(api.Event[T]{Type: api.Modified, Object: it})
		default:
			continue
		}
		n++
		s.items[k] = it
		s.enc[k] = b
	}
	for _, k := range sortedKeys(s.items) {
		if !next[k] {
			s.broadcast(api.Event[T]{Type: api.Deleted, Object: s.items[k]})
			delete(s.items, k)
			delete(s.enc, k)
			n++
		}
	}
	return n
}

// List returns the items sorted by key.
func (s *watchSet[T]) List() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked()
}

func (s *watchSet[T]) listLocked() []T {
	out := make([]T, 0, len(s.items))
	for _, k := range sortedKeys(s.items) {
		out = append(out, s.items[k])
	}
	return out
}

// Watch returns the current items and a channel of later events. The channel is closed when
// cancel is called or when the subscriber fell too far behind.
func (s *watchSet[T]) Watch() (initial []T, events <-chan api.Event[T], cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan api.Event[T], subscriberBuffer)
	s.subs[ch] = struct{}{}
	var once sync.Once
	return s.listLocked(), ch, func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if _, ok := s.subs[ch]; ok {
				delete(s.subs, ch)
				close(ch)
			}
		})
	}
}

func (s *watchSet[T]) broadcast(ev api.Event[T]) {
	for ch := range s.subs {
		select {
		case ch <- ev:
		default: // too slow: drop it rather than block the agent
			delete(s.subs, ch)
			close(ch)
		}
	}
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package agent

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// API server limits. An agent must not be the thing that takes a node down: 15,000
// unauthenticated connections once took it to 204 MB (the systemd unit allows 256 MB, the static
// pod 128 Mi), keep-alive connections were never closed, and 300 follow streams added 78 MB.
const (
	// DefaultMaxConnections caps open connections; more wait in the listen backlog (no memory
	// of ours) until one closes.
	DefaultMaxConnections = 256
	// DefaultMaxStreamsPerIdentity caps the long-lived streams (?watch=1, ?follow=1) one
	// identity (client certificate CN or unix peer uid) holds at once; a TUI uses five.
	DefaultMaxStreamsPerIdentity = 16
	// DefaultIdleTimeout closes keep-alive connections with no request.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultReadHeaderTimeout closes connections that do not send their request headers (and,
	// over TLS, do not finish the handshake) in time.
	DefaultReadHeaderTimeout = 10 * time.Second
	// maxHeaderBytes caps request headers (the API's requests are a path and a query).
	maxHeaderBytes = 64 << 10
)

func (o *Options) setLimitDefaults() {
	if o.MaxStreamsPerIdentity <= 0 {
		o.MaxStreamsPerIdentity = DefaultMaxStreamsPerIdentity
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
}

// streamSlots counts the long-lived streams of each identity.
type streamSlots struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

// acquire takes a stream slot for r's identity, or answers 429 and returns false.
func (s *streamSlots) acquire(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	id := IdentityOf(r)
	key := "?"
	if id != nil {
		key = id.Via + ":" + id.Name
	}
	s.mu.Lock()
	if s.n[key] >= s.max {
		s.mu.Unlock()
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("%s already holds %d streams (watch/follow), the most one identity may: close one first", id, s.max))
		return nil, false
	}
	s.n[key]++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.n[key]--; s.n[key] <= 0 {
				delete(s.n, key)
			}
			s.mu.Unlock()
		})
	}, true
}

// limitListener accepts at most n connections at once: Accept waits for a slot, so the ones over
// the cap stay in the kernel's listen backlog and cost the agent nothing. (x/net/netutil's
// LimitListener hides the *net.UnixConn the peer credentials are read from.)
func limitListener(ln net.Listener, n int) net.Listener {
	return &limited{Listener: ln, sem: make(chan struct{}, n)}
}

type limited struct {
	net.Listener
	sem chan struct{}
}

func (l *limited) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

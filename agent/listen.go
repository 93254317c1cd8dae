package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/spdoc/spdoc/internal/api"
)

// ListenOptions say where the API listens. A unix:// address needs nothing more; tcp:// requires
// mutual TLS (server cert + key, and the CA that signs client certs).
type ListenOptions struct {
	Addr     string // unix:///run/spdoc/agent.sock | tcp://0.0.0.0:7443
	TLSCert  string
	TLSKey   string
	ClientCA string
	// MaxConnections caps open connections (0: DefaultMaxConnections); more wait in the
	// kernel's backlog. The cap sits under TLS, so a handshake is only started within it.
	MaxConnections int
}

// Identity is who sent a request.
type Identity struct {
	Name string // client cert CN, or "uid:<n>" for a unix socket peer
	Role string // api.RoleReader, api.RoleAdmin or "" (no role)
	Via  string // unix, mtls
}

func (id *Identity) String() string { return fmt.Sprintf("%s (%s)", id.Name, id.Via) }

type identityKey struct{}

// IdentityOf returns who sent r: the unix socket peer (uid 0 is admin, others read) or the
// verified client certificate (its Organization carries the role). Nil when unauthenticated.
func IdentityOf(r *http.Request) *Identity {
	if r.TLS != nil {
		if len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
			return nil
		}
		return certIdentity(r.TLS.PeerCertificates[0])
	}
	id, _ := r.Context().Value(identityKey{}).(*Identity)
	return id
}

func certIdentity(c *x509.Certificate) *Identity {
	id := &Identity{Name: c.Subject.CommonName, Via: "mtls"}
	switch {
	case slices.Contains(c.Subject.Organization, api.RoleAdmin):
		id.Role = api.RoleAdmin
	case slices.Contains(c.Subject.Organization, api.RoleReader):
		id.Role = api.RoleReader
	}
	return id
}

// Listen opens the API listener. For unix sockets a missing parent directory is created with mode
// 0700 (an existing one is left alone, but refused when other users could replace the socket) and
// the socket gets 0600; a stale socket file is replaced. TCP without mTLS is refused.
func Listen(opts ListenOptions) (net.Listener, error) {
	u, err := url.Parse(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("invalid --listen %q: %w", opts.Addr, err)
	}
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			path = u.Opaque
		}
		if path == "" {
			return nil, fmt.Errorf("invalid --listen %q: want unix:///path/to/agent.sock", opts.Addr)
		}
		ln, err := listenUnix(path)
		if err != nil {
			return nil, err
		}
		return limitListener(ln, opts.maxConns()), nil
	case "tcp":
		return listenMTLS(u.Host, opts)
	}
	return nil, fmt.Errorf("invalid --listen %q: scheme must be unix:// or tcp://", opts.Addr)
}

func (o ListenOptions) maxConns() int {
	if o.MaxConnections > 0 {
		return o.MaxConnections
	}
	return DefaultMaxConnections
}

// listenMTLS listens on host (the API's or the metrics' tcp:// address) with mutual TLS only,
// connections capped beneath TLS so a flood of handshakes cannot grow the agent.
func listenMTLS(host string, opts ListenOptions) (net.Listener, error) {
	if opts.TLSCert == "" || opts.TLSKey == "" || opts.ClientCA == "" {
		return nil, fmt.Errorf("refusing to listen on %s without mutual TLS: --tls-cert, --tls-key and --client-ca are all required (create them with `spdoc certs`)", opts.Addr)
	}
	cfg, err := ServerTLSConfig(opts.TLSCert, opts.TLSKey, opts.ClientCA)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", host)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", opts.Addr, err)
	}
	return tls.NewListener(limitListener(ln, opts.maxConns()), cfg), nil
}

func listenUnix(path string) (net.Listener, error) {
	if err := socketDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("listening on %q: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listening on %q: another agent is serving this socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale socket %q: %w", path, err)
		}
	}
	// Create the socket with 0600 from the start (no window where it is wider).
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listening on %q: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("securing socket %q: %w", path, err)
	}
	return ln, nil
}

// socketDir makes sure the socket's directory is safe: one the agent creates is 0700; an existing
// one (/run, /tmp) is left as it is — chmod'ing /run would lock out every other service — but it
// must not let other users replace the socket: writable by group or others is refused unless
// the sticky bit is set, and it must belong to root or to us.
func socketDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating socket dir %q: %w", dir, err)
		}
		// MkdirAll's mode is filtered by the umask; ours must be exactly 0700.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("securing socket dir %q: %w", dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket dir %q: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("socket dir %q is not a directory", dir)
	}
	if m := st.Mode(); m.Perm()&0o022 != 0 && m&fs.ModeSticky == 0 {
		return fmt.Errorf("refusing to listen in %q: the directory is writable by group or others (mode %v) without the sticky bit, "+
			"so another user could replace the socket; use a directory only root can write, such as unix:///run/spdoc/agent.sock", dir, m.Perm())
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("refusing to listen in %q: the directory belongs to uid %d, who could replace the socket; use a directory owned by root, such as unix:///run/spdoc/agent.sock", dir, sys.Uid)
	}
	return nil
}

// ServerTLSConfig is TLS 1.3 with client certificates required and verified against clientCA.
func ServerTLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading server certificate %q / key %q: %w", certFile, keyFile, err)
	}
	pool, err := loadCertPool(clientCAFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

func loadCertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading CA %q: %w", file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("reading CA %q: no PEM certificate in it", file)
	}
	return pool, nil
}

// unixPeerContext attaches the peer identity of unix socket connections (SO_PEERCRED).
func unixPeerContext(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok {
		c = lc.Conn
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return ctx
	}
	id := &Identity{Name: "uid:" + strconv.Itoa(int(cred.Uid)), Role: api.RoleReader, Via: "unix"}
	if cred.Uid == 0 {
		id.Role = api.RoleAdmin
	}
	return context.WithValue(ctx, identityKey{}, id)
}

// Serve serves the API of a on ln until ctx is done, then shuts down gracefully.
func Serve(ctx context.Context, a *Agent, ln net.Listener) error {
	srv := &http.Server{
		Handler:           NewHandler(a),
		ConnContext:       unixPeerContext,
		ReadHeaderTimeout: a.opts.ReadHeaderTimeout,
		IdleTimeout:       a.opts.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	return serveUntilDone(ctx, srv, ln)
}

// serveUntilDone serves ln until ctx ends, then shuts srv down, giving open requests 5 s.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}

package node

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// ErrAgentUnreachable is wrapped when no agent answers at the address: nothing listens, the
// socket is missing, or the host cannot be reached.
var ErrAgentUnreachable = errors.New("cannot reach the spdoc agent")

// transportError turns a failed request into what a person can act on: whether the agent is
// running, whether they may use its socket, whether the certificates fit.
func (r *Remote) transportError(err error) error {
	addr := strings.TrimPrefix(r.Describe(), "agent ")
	var (
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		opErr    *net.OpError
	)
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w at %s: is it running? (systemctl status spdoc-agent): %v", ErrAgentUnreachable, addr, err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%s: permission denied on the agent's socket: run as root, or as a user the socket lets in: %w", addr, err)
	case errors.As(err, &certErr), errors.As(err, &unknown):
		return fmt.Errorf("%s: the agent's certificate is not signed by the CA given: pass the CA of spdoc certs with --ca: %w", addr, err)
	case errors.As(err, &hostname):
		return fmt.Errorf("%s: the agent's certificate is not for this host name: create it with spdoc certs --hosts including it: %w", addr, err)
	case strings.Contains(err.Error(), "certificate required"), strings.Contains(err.Error(), "bad certificate"):
		return fmt.Errorf("%s: the agent wants a client certificate signed by its CA: pass --cert and --key (spdoc certs makes reader and admin ones): %w", addr, err)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("%w at %s: is it running and is the address right? (systemctl status spdoc-agent): %v", ErrAgentUnreachable, addr, err)
	}
	return fmt.Errorf("%s: %w", r.Describe(), err)
}

// statusError says what an agent's refusal means for the user: 401/403 a certificate without
// the role asked for (httpError already wraps the class: a 404 is ErrNotFound).
func statusError(status int, err error) error {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w; this needs a certificate with the role for it (spdoc:admin to change, spdoc:reader to read)", err)
	}
	return err
}

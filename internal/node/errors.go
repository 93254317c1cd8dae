package node

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/spdoc/spdoc/internal/podref"
)

// Error classes, after containerd's errdefs: a Client wraps one of them (with %w) in every error
// whose class a caller may act on, and the class survives the agent's HTTP API — the agent answers
// with its status code (HTTPStatus) and Remote wraps the same sentinel again (FromHTTPStatus), so
// errors.Is(err, node.ErrNotFound) answers the same for a Local and a Remote client.
var (
	// ErrNotFound: a requested pod, container, log instance or path does not exist (HTTP 404);
	// the same sentinel as podref's, so a pod name that matches nothing is this class too.
	ErrNotFound = podref.ErrNotFound
	// ErrForbidden: the caller may not do this (a reader's certificate, file permissions; HTTP 403).
	ErrForbidden = errors.New("permission denied")
	// ErrUnauthenticated: the caller did not say who it is (no client certificate; HTTP 401).
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrInvalid: the request itself is wrong (a bad parameter, an invalid config; HTTP 400).
	ErrInvalid = errors.New("invalid argument")
	// ErrUnavailable: the answer does not exist yet or the source is down (no snapshot yet, no
	// node source, the runtime unreachable); retrying later may work (HTTP 503).
	ErrUnavailable = errors.New("unavailable")
)

// HTTPStatus is the status code the agent answers err with: its class (fs.ErrNotExist and
// fs.ErrPermission count as not found and forbidden), else 500.
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden), errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// FromHTTPStatus is the class of an agent's error answer (nil for a status without one).
func FromHTTPStatus(status int) error {
	switch status {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized:
		return ErrUnauthenticated
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return ErrInvalid
	case http.StatusServiceUnavailable:
		return ErrUnavailable
	}
	return nil
}

// withClass gives a file system error its class (fs.ErrNotExist is ErrNotFound, fs.ErrPermission
// ErrForbidden) without changing its message, so a Local client answers errors.Is like a Remote one.
func withClass(err error) error {
	switch {
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return classed{err, ErrNotFound}
	case errors.Is(err, fs.ErrPermission):
		return classed{err, ErrForbidden}
	}
	return err
}

// classed is err, which also is its class.
type classed struct{ err, class error }

func (c classed) Error() string   { return c.err.Error() }
func (c classed) Unwrap() []error { return []error{c.err, c.class} }

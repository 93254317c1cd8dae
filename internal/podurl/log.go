package podurl

import "strings"

// The kubelet's log messages for its URL source (v1.34; the same since 1.21's structured
// logging). All are Info records, even the failures (klog.InfoS with an "err" key):
//
//	kubelet.go  "Adding pod URL with HTTP header" URL="…" header=map[…]   (V0, at start; header values in clear)
//	http.go     "Watching URL" URL="…"                                      (V1)
//	http.go     "Failed to read pods from URL" err="…"                      (V0 for the first 3 consecutive failures)
//	http.go     "Failed to read pods from URL. Dropping verbosity of this message to V(4)" err="…" (the 4th)
//	http.go     "Failed to read pods from URL" err="…"                      (V4 from the 5th on: usually invisible)
//	http.go     "Successfully read pods from URL"                           (V0, the first success after failures)
//
// The kubelet stores a body before decoding it and skips a body equal to the stored one, so a
// rejected list is reported once, and the next poll — same bytes, nothing decoded, nothing
// applied — logs "Successfully read pods from URL". That success is not one.
const (
	MsgAdding    = "Adding pod URL with HTTP header"
	MsgWatching  = "Watching URL"
	MsgFailed    = "Failed to read pods from URL"
	MsgDropping  = "Failed to read pods from URL. Dropping verbosity of this message to V(4)"
	MsgSucceeded = "Successfully read pods from URL"
)

// Event is what a kubelet record says about the URL source.
type Event int

const (
	EventNone      Event = iota
	EventAdding          // the source is configured (kubelet start)
	EventWatching        // the source polls (V1)
	EventFailed          // a failed read or a rejected body
	EventDropping        // the 4th consecutive failure: later ones only at V(4)
	EventSucceeded       // a read after failures: the body is unchanged or was applied
)

// Classify maps a kubelet record message to its URL-source event.
func Classify(msg string) Event {
	switch msg {
	case MsgAdding:
		return EventAdding
	case MsgWatching:
		return EventWatching
	case MsgFailed:
		return EventFailed
	case MsgDropping:
		return EventDropping
	case MsgSucceeded:
		return EventSucceeded
	}
	// unstructured or prefixed variants
	switch {
	case strings.HasPrefix(msg, MsgDropping):
		return EventDropping
	case strings.HasPrefix(msg, MsgFailed):
		return EventFailed
	case strings.HasPrefix(msg, MsgSucceeded):
		return EventSucceeded
	case strings.HasPrefix(msg, MsgAdding):
		return EventAdding
	}
	return EventNone
}

// BodyRejected is true when a failure's err is the kubelet's verdict on a body it read (it did
// not decode, or an item is invalid) rather than a failed request: the kubelet then stores the
// body and logs a success on its next poll although it applied nothing.
func BodyRejected(err string) bool {
	for _, s := range []string{"invalid pod", "couldn't parse as single", "static pods may not", "name is needed for the pod"} {
		if strings.Contains(err, s) {
			return true
		}
	}
	return false
}

// Unreachable is true when a failure's err is the request failing (the server is down, slow,
// refuses, answers non-200, too much, nothing).
func Unreachable(err string) bool {
	if BodyRejected(err) {
		return false
	}
	for _, s := range []string{"connection refused", "dial tcp", "Client.Timeout", "context deadline exceeded", "no such host", "zero-length data", "the read limit is reached", "EOF", "connection reset"} {
		if strings.Contains(err, s) {
			return true
		}
	}
	// "<url>: 404 Not Found" (the kubelet's status error)
	if i := strings.LastIndex(err, ": "); i >= 0 {
		rest := err[i+2:]
		if len(rest) >= 3 && rest[0] >= '1' && rest[0] <= '5' && rest[1] >= '0' && rest[1] <= '9' && rest[2] >= '0' && rest[2] <= '9' {
			return true
		}
	}
	return false
}

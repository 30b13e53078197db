// Package sizes holds the byte limits the library, the class gateway and the
// practice server share, so a stream one of them accepts the others accept.
package sizes

const (
	// MaxEvent is the longest server-sent event read: the library fails a
	// stream with a longer one; the gateway passes it on unread.
	MaxEvent = 1 << 20
	// MaxStream is the longest stream: the library fails it, the gateway
	// cuts it.
	MaxStream = 64 << 20
	// MaxRequest is the largest request body a server accepts.
	MaxRequest = 1 << 20
)

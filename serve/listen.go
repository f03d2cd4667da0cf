package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Listen listens on 127.0.0.1:port (port 0: any free port). The server
// never listens on other interfaces: it has no authentication.
func Listen(port int) (net.Listener, error) {
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("port %d is not valid — use 1 to 65535, or 0 for any free port", port)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, fmt.Errorf("cannot listen on 127.0.0.1:%d: %w — pick another port with --port", port, err)
	}
	return ln, nil
}

// shutdownGrace is how long requests in flight may take to finish once
// the server stops.
const shutdownGrace = 5 * time.Second

// Serve serves h on ln until ctx is cancelled, then stops accepting
// connections, lets the requests in flight finish (for up to 5 seconds)
// and returns nil. It returns the error when serving fails otherwise.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		err := srv.Shutdown(shut)
		<-errc
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// ListenAndServe listens on 127.0.0.1:port, calls ready (when not nil)
// with the address it listens on, e.g. "127.0.0.1:8081", and serves h
// until ctx is cancelled, shutting down gracefully.
func ListenAndServe(ctx context.Context, port int, h http.Handler, ready func(addr string)) error {
	ln, err := Listen(port)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	return Serve(ctx, ln, h)
}

package docs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Serve serves the site in dir on 127.0.0.1:port (port 0 picks a free
// one) until ctx is done. ready, when not nil, is called with the site's
// URL once the listener is open. Only the loopback interface is bound:
// the docs are never exposed to the network.
func Serve(ctx context.Context, dir string, port int, ready func(url string)) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("docs serve: cannot listen on 127.0.0.1:%d: %w — pick another port with --port", port, err)
	}
	srv := &http.Server{
		Handler:           noCache(http.FileServer(http.Dir(dir))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	if ready != nil {
		ready(fmt.Sprintf("http://%s/", ln.Addr().String()))
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shut)
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// noCache makes the browser reload data.js after a new docs generate, and
// forbids any script or resource from elsewhere.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// csp allows the site's own files only: no inline script, no remote
// resource, so injected markup could not run even if it reached the DOM.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"

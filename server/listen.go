package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ListenOptions say where and how to listen.
type ListenOptions struct {
	Addr     string // HOST:PORT
	CertFile string
	KeyFile  string
	// Insecure allows plain HTTP on an address that is not loopback.
	Insecure bool
	// Ready is called with the address once listening (the port, when :0 was asked).
	Ready func(addr string)
	// ShutdownTimeout bounds the wait for in-flight requests on shutdown (default 30s).
	ShutdownTimeout time.Duration
}

// ErrPlainHTTP is returned for plain HTTP on a non-loopback address without Insecure.
var ErrPlainHTTP = errors.New("refusing plain HTTP on an address that is not loopback")

// CheckListen refuses plain HTTP beyond loopback unless told otherwise.
func CheckListen(lo ListenOptions) error {
	if (lo.CertFile == "") != (lo.KeyFile == "") {
		return fmt.Errorf("give both --tls-cert and --tls-key")
	}
	if lo.CertFile != "" || lo.Insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(lo.Addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", lo.Addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w (%s): give --tls-cert and --tls-key, or --insecure", ErrPlainHTTP, lo.Addr)
	}
	return nil
}

// ListenAndServe serves until ctx is done, then shuts down gracefully: the
// listener closes at once and requests in flight (writes included) finish.
func (s *Server) ListenAndServe(ctx context.Context, lo ListenOptions) error {
	return listenAndServe(ctx, lo, s)
}

// servable is a server of one practice, or of every practice in a database.
type servable interface {
	Handler() http.Handler
	flushLoop(ctx context.Context)
	FlushRefusals(ctx context.Context, all bool)
}

func listenAndServe(ctx context.Context, lo ListenOptions, s servable) error {
	if err := CheckListen(lo); err != nil {
		return err
	}
	if lo.ShutdownTimeout == 0 {
		lo.ShutdownTimeout = 30 * time.Second
	}
	ln, err := net.Listen("tcp", lo.Addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if lo.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(lo.CertFile, lo.KeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	if lo.Ready != nil {
		lo.Ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	go s.flushLoop(ctx)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), lo.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	s.FlushRefusals(sctx, true)
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

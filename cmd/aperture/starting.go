package main

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// earlyServer answers on the server's address while Run builds the real
// server (storage, the search index, in a cluster the catch-up with every
// partition's log, which can take minutes after a long absence): a load
// balancer or a browser is told "starting" (web.Starting) rather than
// left with a connection that nothing answers. handOver then gives the
// listener to the real server.
type earlyServer struct {
	srv  *http.Server
	ln   *pausable
	done chan struct{}
	open atomic.Int64 // connections not yet closed
	once sync.Once
	next net.Listener
}

// startEarly serves h on ln (tcp is ln itself or the TCP listener under
// it, whose deadline stops an Accept in progress).
func startEarly(ln net.Listener, tcp *net.TCPListener, h http.Handler) *earlyServer {
	e := &earlyServer{
		ln:   &pausable{Listener: ln, tcp: tcp, caught: make(chan net.Conn, 1)},
		done: make(chan struct{}),
	}
	e.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ConnState: func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			e.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			e.open.Add(-1)
		}
	}}
	// One request per connection, so that none is left idle to close:
	// a request read once the server shuts down gets no answer at all
	// (net/http drops it), so the hand-over waits for the connections to
	// end by themselves instead.
	e.srv.SetKeepAlivesEnabled(false)
	go func() {
		defer close(e.done)
		e.srv.Serve(e.ln)
	}()
	return e
}

// handOver stops the early server (answering the requests it has
// accepted, for up to two seconds) and returns the listener for the real server: the same
// one, giving first a connection accepted as the early server stopped.
// It is safe to call more than once.
func (e *earlyServer) handOver() net.Listener {
	e.once.Do(func() {
		e.ln.paused.Store(true)
		e.ln.tcp.SetDeadline(time.Now()) // ends an Accept in progress
		<-e.done
		for wait := time.Now().Add(2 * time.Second); e.open.Load() > 0 && time.Now().Before(wait); {
			time.Sleep(5 * time.Millisecond)
		}
		e.srv.Close() // a client still sending its request after two seconds
		e.ln.tcp.SetDeadline(time.Time{})
		e.next = e.ln.Listener
		select {
		case c := <-e.ln.caught:
			e.next = &firstConn{Listener: e.ln.Listener, first: c}
		default:
		}
	})
	return e.next
}

// pausable is a listener that an http.Server serves until it is paused;
// its Close leaves the listener open for the server that comes next.
type pausable struct {
	net.Listener
	tcp    *net.TCPListener
	paused atomic.Bool
	caught chan net.Conn // a connection accepted as it paused
}

// Accept returns the next connection, or net.ErrClosed once paused.
func (l *pausable) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if l.paused.Load() {
		if err == nil {
			l.caught <- c // one accept loop: at most one is caught
		}
		return nil, net.ErrClosed
	}
	return c, err
}

// Close does nothing: the listener is handed over, not closed.
func (l *pausable) Close() error { return nil }

// firstConn is a listener whose first Accept returns a connection
// accepted before it.
type firstConn struct {
	net.Listener
	first net.Conn
	taken atomic.Bool
}

// Accept returns the connection accepted before, then the listener's.
func (l *firstConn) Accept() (net.Conn, error) {
	if l.taken.CompareAndSwap(false, true) {
		return l.first, nil
	}
	return l.Listener.Accept()
}

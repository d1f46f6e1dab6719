package testrig

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// tcpProxy forwards every connection accepted on a listener to a backend
// address, and can close all of them at once.
//
// The OPC UA fronts need it: gopcua's Server.Close does not close client
// TCP connections, so a connected client keeps a server goroutine blocked in
// a read (and Close waits 10 s for it, then leaves it behind). With the rig
// owning the client-facing sockets, Stop closes them and the server sees
// EOF on every connection. It is also the place where network faults
// (drops, delays) can be injected later.
type tcpProxy struct {
	ln      net.Listener
	backend string

	// mu guards conns and closed. It is a leaf lock.
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool

	wg sync.WaitGroup // the accept loop and one per forwarded connection
}

// startProxy serves ln, forwarding to backend (host:port), until close.
func startProxy(ln net.Listener, backend string) *tcpProxy {
	p := &tcpProxy{ln: ln, backend: backend, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or similar: back off and go on.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// forward copies bytes both ways between client and a new backend
// connection until either side closes or the proxy is closed.
func (p *tcpProxy) forward(client net.Conn) {
	defer p.wg.Done()
	backend, err := net.DialTimeout("tcp", p.backend, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, backend) {
		client.Close()
		backend.Close()
		return
	}
	defer p.untrack(client, backend)
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(backend, client)
		backend.Close()
		client.Close()
	}()
	io.Copy(client, backend)
	client.Close()
	backend.Close()
	<-done
}

func (p *tcpProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *tcpProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.conns, c)
	}
}

// close stops accepting, closes every forwarded connection on both sides
// and waits for the proxy's goroutines.
func (p *tcpProxy) close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// A test fixture, not part of netvigil: a minimal Snowflake server (the "relay" the
// proxies reach over WebSocket) for tests/probe/test_torsf.py, built at test time from
// Debian's golang-snowflake-dev 2.5.1 and its golang-*-dev dependencies (GOPATH mode).
//
// Debian packages no Snowflake server, so this is the protocol of upstream's
// server/lib/http.go and server/lib/snowflake.go (snowflake v2.5.1), cut to what one
// client needs: each WebSocket carries the Turbo Tunnel token, an 8-byte client ID, then
// encapsulation-framed KCP packets; KCP connections (the client's window and no-delay
// settings, client/lib/snowflake.go newSession) carry an smux v2 session; every smux
// stream is forwarded to one tor ORPort (-orport; upstream uses the ExtORPort, which only
// adds the client's address for tor's statistics). It listens on -listen (a loopback
// address) and prints "listening ADDR" once it accepts connections.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"git.torproject.org/pluggable-transports/snowflake.git/v2/common/encapsulation"
	"git.torproject.org/pluggable-transports/snowflake.git/v2/common/turbotunnel"
	"git.torproject.org/pluggable-transports/snowflake.git/v2/common/websocketconn"
	"github.com/gorilla/websocket"
	"github.com/xtaci/kcp-go/v5"
	"github.com/xtaci/smux"
)

// upstream server/lib/snowflake.go: clientMapTimeout, and client/lib's WindowSize, StreamSize
const (
	clientMapTimeout = 1 * time.Minute
	windowSize       = 65535
	streamSize       = 1048576
)

// dummyAddr is the KCP listener's local address: packets arrive by WebSocket, not UDP.
type dummyAddr struct{}

func (dummyAddr) Network() string { return "dummy" }
func (dummyAddr) String() string  { return "dummy" }

type handler struct{ pconn *turbotunnel.QueuePacketConn }

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		log.Printf("upgrade: %v", err)
		return
	}
	conn := websocketconn.New(ws)
	defer conn.Close()
	var token [8]byte
	if _, err := io.ReadFull(conn, token[:]); err != nil || !bytes.Equal(token[:], turbotunnel.Token[:]) {
		log.Printf("not a Turbo Tunnel connection: %v", err)
		return
	}
	var id turbotunnel.ClientID
	if _, err := io.ReadFull(conn, id[:]); err != nil {
		log.Printf("no client ID: %v", err)
		return
	}
	done := make(chan struct{})
	go func() { // the client's packets, as upstream's turbotunnelMode
		defer close(done)
		for {
			p, err := encapsulation.ReadData(conn)
			if err != nil {
				return
			}
			h.pconn.QueueIncoming(p, id)
		}
	}()
	bw := bufio.NewWriter(conn)
	for {
		select {
		case <-done:
			return
		case p := <-h.pconn.OutgoingQueue(id):
			if _, err := encapsulation.WriteData(bw, p); err != nil {
				return
			}
			if err := bw.Flush(); err != nil {
				return
			}
		}
	}
}

func forward(stream *smux.Stream, orport string) {
	defer stream.Close()
	or, err := net.Dial("tcp", orport)
	if err != nil {
		log.Printf("ORPort: %v", err)
		return
	}
	defer or.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(or, stream); done <- struct{}{} }()
	go func() { io.Copy(stream, or); done <- struct{}{} }()
	<-done
}

func session(conn *kcp.UDPSession, orport string) {
	defer conn.Close()
	conn.SetStreamMode(true)
	conn.SetWindowSize(windowSize, windowSize)
	conn.SetNoDelay(0, 0, 0, 1)
	config := smux.DefaultConfig()
	config.Version = 2
	config.KeepAliveTimeout = 10 * time.Minute
	config.MaxStreamBuffer = streamSize
	sess, err := smux.Server(conn, config)
	if err != nil {
		log.Printf("smux: %v", err)
		return
	}
	for {
		stream, err := sess.AcceptStream()
		if err != nil {
			return
		}
		log.Printf("stream %d", stream.ID())
		go forward(stream, orport)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "the WebSocket listener's address")
	orport := flag.String("orport", "", "the tor bridge's ORPort, HOST:PORT")
	flag.Parse()
	pconn := turbotunnel.NewQueuePacketConn(dummyAddr{}, clientMapTimeout)
	ln, err := kcp.ServeConn(nil, 0, 0, pconn)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			conn, err := ln.AcceptKCP()
			if err != nil {
				log.Fatal(err)
			}
			go session(conn, *orport)
		}
	}()
	tcp, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s\n", tcp.Addr())
	log.Fatal(http.Serve(tcp, handler{pconn}))
}

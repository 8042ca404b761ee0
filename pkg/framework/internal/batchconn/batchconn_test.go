package batchconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

func TestConnKeepsOrderAndFlushesOnClose(t *testing.T) {
	client, server := net.Pipe()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(server)
		got <- b
	}()
	c := New(client)
	var want bytes.Buffer
	for i := range 1000 {
		p := []byte(strconv.Itoa(i) + ",")
		want.Write(p)
		if n, err := c.Write(p); err != nil || n != len(p) {
			t.Fatalf("write %d: n=%d err=%v", i, n, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, want.Bytes()) {
			t.Fatalf("peer read %d bytes, want %d in order", len(b), want.Len())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("peer never saw EOF")
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

func TestConnReportsWriteErrors(t *testing.T) {
	client, server := net.Pipe()
	_ = server.Close()
	c := New(client)
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Write([]byte("x"))
		if err != nil {
			if !errors.Is(err, io.ErrClosedPipe) {
				t.Fatalf("err = %v, want the socket's error", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a failed socket write was never reported")
		}
		time.Sleep(time.Millisecond)
	}
}

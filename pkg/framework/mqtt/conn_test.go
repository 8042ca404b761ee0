package mqtt

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/eclipse/paho.golang/packets"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// publishPacket is a PUBLISH with every property a PUBLISH may carry, PURISTA headers
// among other user properties, and a payload of n bytes.
func publishPacket(qos byte, n int) *packets.Publish {
	expiry, alias, format, subID := uint32(30), uint16(7), byte(1), 300
	return &packets.Publish{
		QoS: qos, PacketID: 513, Topic: "purista/command/none/none/abc/svc/1/t/none/none/other/1/echo",
		Properties: &packets.Properties{
			PayloadFormat: &format, MessageExpiry: &expiry, TopicAlias: &alias,
			ContentType: wire.ContentTypeJSON, ResponseTopic: "reply/here", CorrelationData: []byte("corr-1"),
			SubscriptionIdentifier: &subID,
			User: []packets.User{
				{Key: wire.HeaderMessageType, Value: "command"},
				{Key: PropReason, Value: "kept"},
				{Key: wire.HeaderSenderServiceName, Value: "svc"},
				{Key: wire.HeaderTraceParent, Value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
				{Key: "x-foreign", Value: strings.Repeat("v", 200)},
				{Key: wire.HeaderEventName, Value: ""},
			},
		},
		Payload: bytes.Repeat([]byte("p"), n),
	}
}

// TestPacketReaderDropsOnlyHeaders feeds packets of every size class through
// packetReader and parses them with paho: PUBLISHes that fit the buffer lose exactly their
// PURISTA header properties, everything else arrives as sent.
func TestPacketReaderDropsOnlyHeaders(t *testing.T) {
	var stream bytes.Buffer
	var want []*packets.Publish
	large := map[*packets.Publish]bool{} // larger than the buffer: read through as they are
	for _, qos := range []byte{0, 1} {
		for _, n := range []int{0, 10, 100, 20000, readBufferSize, 3 * readBufferSize} {
			p := publishPacket(qos, n)
			before := stream.Len()
			if _, err := p.WriteTo(&stream); err != nil {
				t.Fatal(err)
			}
			large[p] = stream.Len()-before > readBufferSize
			want = append(want, p)
			ack := &packets.Puback{PacketID: uint16(n), Properties: &packets.Properties{}}
			if _, err := ack.WriteTo(&stream); err != nil {
				t.Fatal(err)
			}
			want = append(want, nil)
		}
	}
	plain := &packets.Publish{QoS: 1, PacketID: 9, Topic: "a/b", Properties: &packets.Properties{}, Payload: []byte("x")}
	if _, err := plain.WriteTo(&stream); err != nil {
		t.Fatal(err)
	}
	want = append(want, plain)

	// One byte at a time from the socket: every Peek has to wait for more.
	pr := &packetReader{r: bufio.NewReaderSize(iotestOneByte{&stream}, readBufferSize)}
	for i, w := range want {
		cp, err := packets.ReadPacket(pr)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if w == nil {
			if cp.Type != packets.PUBACK {
				t.Fatalf("packet %d: type %d, want PUBACK", i, cp.Type)
			}
			continue
		}
		got, ok := cp.Content.(*packets.Publish)
		if !ok {
			t.Fatalf("packet %d: type %d, want PUBLISH", i, cp.Type)
		}
		if got.QoS != w.QoS || got.Topic != w.Topic || (w.QoS > 0 && got.PacketID != w.PacketID) || !bytes.Equal(got.Payload, w.Payload) {
			t.Fatalf("packet %d: got qos %d id %d topic %q payload %d bytes", i, got.QoS, got.PacketID, got.Topic, len(got.Payload))
		}
		wp, gp := w.Properties, got.Properties
		var wantUser []packets.User
		for _, u := range wp.User {
			if large[w] || !wire.IsHeaderName(u.Key) {
				wantUser = append(wantUser, u)
			}
		}
		if !slices.Equal(gp.User, wantUser) {
			t.Fatalf("packet %d: user properties %v, want %v", i, gp.User, wantUser)
		}
		if w != plain && (*gp.PayloadFormat != *wp.PayloadFormat || *gp.MessageExpiry != *wp.MessageExpiry ||
			*gp.TopicAlias != *wp.TopicAlias || gp.ContentType != wp.ContentType || gp.ResponseTopic != wp.ResponseTopic ||
			!bytes.Equal(gp.CorrelationData, wp.CorrelationData) || *gp.SubscriptionIdentifier != *wp.SubscriptionIdentifier) {
			t.Fatalf("packet %d: properties changed: %+v", i, gp)
		}
	}
	if _, err := packets.ReadPacket(pr); err != io.EOF {
		t.Fatalf("after the last packet: %v, want EOF", err)
	}
}

// TestDropHeadersLeavesMalformedAlone: a PUBLISH the rewriter does not understand is
// passed on unchanged (paho then judges it).
func TestDropHeadersLeavesMalformedAlone(t *testing.T) {
	var b bytes.Buffer
	if _, err := publishPacket(1, 5).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	pkt := b.Bytes()
	hdr := 3 // the test packet's remaining length takes two bytes
	if _, ok := dropHeaders(nil, pkt, hdr); !ok {
		t.Fatal("well-formed packet not rewritten")
	}
	for cut := hdr; cut < len(pkt)-5; cut++ { // truncated inside topic, id or properties
		if out, ok := dropHeaders(nil, pkt[:cut], hdr); ok {
			t.Fatalf("truncated at %d: rewritten to %d bytes", cut, len(out))
		}
	}
}

// iotestOneByte returns at most one byte per Read.
type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// TestConnWritesPacketsWhole: paho writes each packet in pieces from many goroutines;
// through mqttConn the peer still reads whole packets.
func TestConnWritesPacketsWhole(t *testing.T) {
	client, server := net.Pipe()
	c := newConn(client)
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				p := publishPacket(1, 50+w*each+i)
				p.PacketID = uint16(w*each + i + 1)
				if _, err := p.WriteTo(c); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := map[uint16]bool{}
	done := make(chan error, 1)
	go func() {
		for len(seen) < writers*each {
			cp, err := packets.ReadPacket(server)
			if err != nil {
				done <- err
				return
			}
			p := cp.Content.(*packets.Publish)
			if len(p.Payload) != 50+int(p.PacketID)-1 || len(p.Properties.User) != 6 {
				t.Errorf("packet %d: payload %d bytes, %d user properties", p.PacketID, len(p.Payload), len(p.Properties.User))
			}
			seen[p.PacketID] = true
		}
		done <- nil
	}()
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

// FuzzDropHeaders: whatever PUBLISH dropHeaders rewrites, paho parses the rewritten packet
// exactly as the original, less the PURISTA header properties.
func FuzzDropHeaders(f *testing.F) {
	for _, n := range []int{0, 3, 200} {
		for _, qos := range []byte{0, 1} {
			var b bytes.Buffer
			if _, err := publishPacket(qos, n).WriteTo(&b); err != nil {
				f.Fatal(err)
			}
			f.Add(b.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if len(pkt) < 2 || pkt[0]>>4 != publishType {
			return
		}
		rem, n, ok := readVBI(pkt[1:])
		if !ok || 1+n+rem != len(pkt) {
			return
		}
		out, ok := dropHeaders(nil, pkt, 1+n)
		if !ok {
			return
		}
		orig, err := packets.ReadPacket(bytes.NewReader(pkt))
		if err != nil {
			return // paho would have rejected the original as well
		}
		got, err := packets.ReadPacket(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("rewritten packet does not parse: %v\n% x\n% x", err, pkt, out)
		}
		op, gp := orig.Content.(*packets.Publish), got.Content.(*packets.Publish)
		var wantUser []packets.User
		for _, u := range op.Properties.User {
			if !wire.IsHeaderName(u.Key) {
				wantUser = append(wantUser, u)
			}
		}
		if op.Topic != gp.Topic || op.PacketID != gp.PacketID || op.QoS != gp.QoS || !bytes.Equal(op.Payload, gp.Payload) ||
			!slices.Equal(wantUser, gp.Properties.User) || op.Properties.ContentType != gp.Properties.ContentType ||
			!bytes.Equal(op.Properties.CorrelationData, gp.Properties.CorrelationData) {
			t.Fatalf("rewritten packet differs:\n%+v\n%+v", op, gp)
		}
		// Every other property (expiry, alias, format, response topic, subscription
		// identifiers) arrives as it was.
		op.Properties.User, gp.Properties.User = nil, nil
		if !reflect.DeepEqual(op.Properties, gp.Properties) || op.Duplicate != gp.Duplicate || op.Retain != gp.Retain {
			t.Fatalf("rewritten packet's properties differ:\n%+v\n%+v", op.Properties, gp.Properties)
		}
	})
}

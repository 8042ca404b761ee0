package wire_test

import (
	"fmt"

	"github.com/purista-go/purista/pkg/framework/wire"
)

func ExampleSnakeCase() {
	for _, s := range []string{"sendWelcome", "HTTPServer", "1.0.0", "974d5ac300b190b7ded33a92b1ae26df", "*"} {
		fmt.Println(wire.SnakeCase(s))
	}
	// Output:
	// send_welcome
	// http_server
	// 1_0_0
	// 974_d5_ac300_b190_b7_ded33_a92_b1_ae26_df
	// *
}

func ExampleNATSSubject() {
	cmd := &wire.Message{
		MessageType: wire.TypeCommand,
		Sender:      wire.Address{ServiceName: "User", ServiceVersion: "1", ServiceTarget: "signUp", InstanceID: "67af84bdb808c3da3ae8adcacc43509d"},
		Receiver:    &wire.Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "sendWelcome"},
	}
	fmt.Println(wire.NATSSubject(wire.TokensOf(cmd)))
	fmt.Println(wire.NATSCommandSubject(*cmd.Receiver))
	fmt.Println(wire.NATSQueueGroup(*cmd.Receiver))
	// Output:
	// purista.command.empty.empty.67_af84_bdb808_c3_da3_ae8_adcacc43509_d.user.1.sign_up.empty.empty.email.1.send_welcome
	// purista.command.*.*.*.*.*.*.*.*.email.1.send_welcome
	// PURISTA_QUEUE_EMAIL_1_SENDWELCOME
}

func ExampleDecode() {
	body := []byte(`{"id":"227a64a147e48cd6ff1e2d35552341db","correlationId":"c7b69e5b6362009f7c192fb10eac1823",` +
		`"timestamp":1795643360427,"contentType":"application/json","contentEncoding":"utf-8",` +
		`"eventName":"userSignedUp","messageType":"commandSuccessResponse",` +
		`"sender":{"serviceName":"User","serviceVersion":"1","serviceTarget":"signUp","instanceId":"67af84bdb808c3da3ae8adcacc43509d"},` +
		`"receiver":{"serviceName":"WireCapture","serviceVersion":"1","serviceTarget":"run","instanceId":"adf25ef48f63cd020bc44e5232a5d96c"},` +
		`"payload":{"id":"user-0001","email":"alice@example.com"},` +
		`"otp":"{\"traceparent\":\"00-a54301eb06be5516017fad45eb49d5d9-1375c95d2104aefb-01\"}"}`)
	msg, err := wire.Decode(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(msg.MessageType, msg.EventName, msg.Sender, "→", *msg.Receiver)
	fmt.Println(string(msg.Payload))
	fmt.Println(wire.TraceIDOf(wire.TraceParent(msg)))

	_, err = wire.Decode([]byte(`{"id":"x","messageType":"command","sender":{"serviceName":"User"}}`))
	fmt.Println(err)
	// Output:
	// commandSuccessResponse userSignedUp User.v1.signUp → WireCapture.v1.run
	// {"id":"user-0001","email":"alice@example.com"}
	// a54301eb06be5516017fad45eb49d5d9
	// invalid PURISTA message: command x without receiver service and target
}

// A bridge encodes every message it sends into a reused Buffer, hands the bytes to its
// client library (which copies them) and returns the Buffer.
func ExampleBuffers() {
	var bufs wire.Buffers // one per bridge
	buf := bufs.Get()
	data, err := buf.Encode(&wire.Message{ID: "1", MessageType: wire.TypeCustomMessage, EventName: "userSignedUp",
		Sender: wire.Address{ServiceName: "User", ServiceVersion: "1", ServiceTarget: "signUp"}, Payload: []byte(`{"id":7}`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(data)) // publish data here; it is valid until Put
	bufs.Put(buf)
	// Output:
	// {"id":"1","timestamp":0,"contentType":"","contentEncoding":"","messageType":"customMessage","sender":{"serviceName":"User","serviceVersion":"1","serviceTarget":"signUp"},"eventName":"userSignedUp","payload":{"id":7}}
}

// DecodeOwned takes over a body the client library allocated for one message: the
// message's strings and payload point into it, so nothing may write to it afterwards.
func ExampleDecodeOwned() {
	body := []byte(`{"id":"1","timestamp":1795643360427,"contentType":"application/json","contentEncoding":"utf-8",` +
		`"messageType":"customMessage","eventName":"userSignedUp","sender":{"serviceName":"User","serviceVersion":"1","serviceTarget":"signUp"},` +
		`"payload":{"id":7}}`)
	m, err := wire.DecodeOwned(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.EventName, m.Sender, string(m.Payload))
	// Output:
	// userSignedUp User.v1.signUp {"id":7}
}

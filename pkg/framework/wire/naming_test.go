package wire

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSnakeCase(t *testing.T) {
	tests := []struct{ in, want string }{
		// the examples of docs/wire-format.md (Names) and more
		{"commandSuccessResponse", "command_success_response"},
		{"UserService", "user_service"},
		{"HTTPServer", "http_server"},
		{"1.0.0", "1_0_0"},
		{"user.created", "user_created"},
		{"__empty__", "empty"},
		{"4bf92f3577b34da6", "4_bf92_f3577_b34_da6"},
		{"*", "*"},
		{"", ""},
		// instance ids of the captures in testdata
		{"974d5ac300b190b7ded33a92b1ae26df", "974_d5_ac300_b190_b7_ded33_a92_b1_ae26_df"},
		{"67af84bdb808c3da3ae8adcacc43509d", "67_af84_bdb808_c3_da3_ae8_adcacc43509_d"},
		{"adf25ef48f63cd020bc44e5232a5d96c", "adf25_ef48_f63_cd020_bc44_e5232_a5_d96_c"},
		{"1bbcb0f876778fb53215b4bf1d38e8b2", "1_bbcb0_f876778_fb53215_b4_bf1_d38_e8_b2"},
		{"8e6601b2a30571e4e241279e2d006cd8", "8_e6601_b2_a30571_e4_e241279_e2_d006_cd8"},
		{"ab7ebaab8404363abc758f26426f18f4", "ab7_ebaab8404363_abc758_f26426_f18_f4"},
		{"sendWelcome", "send_welcome"},
		{"WireCapture", "wire_capture"},
		{"userSignedUp", "user_signed_up"},
		{"__none__", "none"},
		{"infoServiceFunctionAdded", "info_service_function_added"},
		// PURISTA's own unit tests of convertToSnakeCase
		{"camelCaseText", "camel_case_text"},
		{"PascalCaseText", "pascal_case_text"},
		{"kebab-case-text", "kebab_case_text"},
		{"some-mixed_string _With spaces_underscores-and-hyphens", "some_mixed_string_with_spaces_underscores_and_hyphens"},
		// the capital-run alternative and its lookahead, checked against node
		{"XMLHttpRequest", "xml_http_request"},
		{"getHTTPResponseCode", "get_http_response_code"},
		{"AB", "ab"},
		{"ABc", "a_bc"},          // run-1 = 1 is too short: single capitals
		{"ABCdef", "ab_cdef"},    // the last capital starts the next word
		{"ABC1", "a_b_c_1"},      // a digit is a word character: no \b after the run
		{"ABC_DEF", "a_b_c_def"}, // so is "_"
		{"ABC-def", "abc_def"},   // "-" is not
		{"ABé", "ab"},            // non-ASCII is not a word character and is dropped
		{"PURISTA_QUEUE", "p_u_r_i_s_t_a_queue"},
		{"a1B2", "a1_b_2"},
		{"v1.2.3-beta", "v1_2_3_beta"},
		{"+", "+"},
		{"é", "é"},
		{" - ", " - "},
	}
	for _, tt := range tests {
		if got := SnakeCase(tt.in); got != tt.want {
			t.Errorf("SnakeCase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSnakeCaseOracle checks SnakeCase against vectors computed by a JavaScript engine
// with the regular expression of docs/wire-format.md (testdata/snakecase_oracle.js).
func TestSnakeCaseOracle(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "snakecase_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases [][2]string
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 1000 {
		t.Fatalf("only %d vectors", len(cases))
	}
	for _, c := range cases {
		if got := SnakeCase(c[0]); got != c[1] {
			t.Errorf("SnakeCase(%q) = %q, node says %q", c[0], got, c[1])
		}
	}
}

func TestNames(t *testing.T) {
	email := Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "sendWelcome"}
	info := Tokens{MessageType: "infoServiceReady", SenderInstanceID: "974d5ac300b190b7ded33a92b1ae26df",
		SenderServiceName: "Email", SenderServiceVersion: "1"}
	event := Tokens{EventName: "userSignedUp"}
	tests := []struct{ name, got, want string }{
		{"NATSSubject empty target placeholder", NATSSubject(info),
			"purista.info_service_ready.empty.empty.974_d5_ac300_b190_b7_ded33_a92_b1_ae26_df.email.1.empty.empty.empty.empty.empty.empty"},
		{"NATSSubject zero", NATSSubject(Tokens{}), "purista.empty.empty.empty.empty.empty.empty.empty.empty.empty.empty.empty.empty"},
		{"NATSPattern event", NATSPattern(event), "purista.*.*.*.*.*.*.*.user_signed_up.*.*.*.*"},
		{"NATSCommandSubject", NATSCommandSubject(email), "purista.command.*.*.*.*.*.*.*.*.email.1.send_welcome"},
		{"NATSQueueGroup", NATSQueueGroup(email), "PURISTA_QUEUE_EMAIL_1_SENDWELCOME"},
		{"NATSQueueGroup subscription", NATSQueueGroup(Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "onUserSignedUp"}),
			"PURISTA_QUEUE_EMAIL_1_ONUSERSIGNEDUP"},
		{"NATSDeadLetterSubject", NATSDeadLetterSubject(email), "purista.deadletter.email.1.send_welcome"},
		{"NATSDeadLetterSubject empty target", NATSDeadLetterSubject(Address{ServiceName: "Email", ServiceVersion: "1"}),
			"purista.deadletter.email.1.empty"},
		{"MQTTTopic empty target placeholder", MQTTTopic(info),
			"purista/info_service_ready/none/none/974_d5_ac300_b190_b7_ded33_a92_b1_ae26_df/email/1/none/none/none/none/none/none"},
		{"MQTTPattern event", MQTTPattern(event), "purista/+/+/+/+/+/+/+/user_signed_up/+/+/+/+"},
		{"MQTTCommandFilter", MQTTCommandFilter(email, MQTTDefaultShare),
			"$share/sharedpurista/purista/command/+/+/+/+/+/+/+/+/email/1/send_welcome"},
		{"MQTTCommandFilter own share", MQTTCommandFilter(email, "purista_email_1_send_welcome"),
			"$share/purista_email_1_send_welcome/purista/command/+/+/+/+/+/+/+/+/email/1/send_welcome"},
		{"MQTTCommandFilter unshared", MQTTCommandFilter(email, ""), "purista/command/+/+/+/+/+/+/+/+/email/1/send_welcome"},
		{"MQTTResponseFilter", MQTTResponseFilter("974d5ac300b190b7ded33a92b1ae26df"),
			"purista/+/+/+/+/+/+/+/+/974_d5_ac300_b190_b7_ded33_a92_b1_ae26_df/+/+/+"},
		{"MQTTSubscriptionShare", MQTTSubscriptionShare(Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "onUserSignedUp"}),
			"purista_email_1_on_user_signed_up"},
		{"MQTTSubscriptionShare empty target", MQTTSubscriptionShare(Address{ServiceName: "Email", ServiceVersion: "1.0.0"}),
			"purista_email_1_0_0_none"},
		{"MQTTDeadLetterTopic", MQTTDeadLetterTopic(email), "purista/deadletter/email/1/send_welcome"},
		{"AMQPCommandQueue", AMQPCommandQueue(email), "purista.cmd.Email.1.sendWelcome"},
		{"AMQPSubscriptionQueue", AMQPSubscriptionQueue(Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "onUserSignedUp"}),
			"purista.sub.Email.1.onUserSignedUp"},
		{"AMQPDeadLetterQueue", AMQPDeadLetterQueue(email), "purista.dlq.Email.1.sendWelcome"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestAMQPBindingArgs(t *testing.T) {
	tests := []struct {
		name string
		in   Tokens
		want map[string]string
	}{
		{"nothing set", Tokens{}, map[string]string{"x-match": "all"}},
		{"receiver instance uses the AMQP name", Tokens{MessageType: "commandSuccessResponse", ReceiverInstanceID: "abc"},
			map[string]string{"x-match": "all", "messageType": "commandSuccessResponse", "receiverServiceInstanceId": "abc"}},
		{"every other filter", Tokens{PrincipalID: "p", TenantID: "t", SenderInstanceID: "i", SenderServiceName: "S",
			SenderServiceVersion: "2", SenderServiceTarget: "x", EventName: "e", ReceiverServiceName: "R",
			ReceiverServiceVersion: "3", ReceiverServiceTarget: "y"},
			map[string]string{"x-match": "all", "principalId": "p", "tenantId": "t", "senderInstanceId": "i",
				"senderServiceName": "S", "senderServiceVersion": "2", "senderServiceTarget": "x", "eventName": "e",
				"receiverServiceName": "R", "receiverServiceVersion": "3", "receiverServiceTarget": "y"}},
	}
	for _, tt := range tests {
		got := AMQPBindingArgs(tt.in)
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s: %s=%q, want %q", tt.name, k, got[k], v)
			}
		}
	}
}

func TestParseNames(t *testing.T) {
	full := Tokens{MessageType: "command_success_response", SenderInstanceID: "ab7_ebaab8404363_abc758_f26426_f18_f4",
		SenderServiceName: "user", SenderServiceVersion: "1", SenderServiceTarget: "sign_up", EventName: "user_signed_up",
		ReceiverInstanceID: "8_e6601_b2_a30571_e4_e241279_e2_d006_cd8", ReceiverServiceName: "wire_capture",
		ReceiverServiceVersion: "1", ReceiverServiceTarget: "run"}
	info := Tokens{MessageType: "info_service_init", SenderInstanceID: "x1", SenderServiceName: "email", SenderServiceVersion: "1"}
	tests := []struct {
		name  string
		parse func(string) (Tokens, error)
		in    string
		want  Tokens
		fails bool
	}{
		{"NATS", ParseNATSSubject, NATSSubject(full), full, false},
		{"NATS empty token", ParseNATSSubject, "purista.info_service_init.empty.empty.x1.email.1..empty.empty.empty.empty.empty", info, false},
		{"NATS placeholder", ParseNATSSubject, "purista.info_service_init.empty.empty.x1.email.1.empty.empty.empty.empty.empty.empty", info, false},
		{"NATS too short", ParseNATSSubject, "purista.a.b", Tokens{}, true},
		{"NATS other prefix", ParseNATSSubject, "other.a.b.c.d.e.f.g.h.i.j.k.l", Tokens{}, true},
		{"NATS inbox", ParseNATSSubject, "_INBOX.E9M1M9ZOM9AL3S4K49DKP2.E9M1M9ZOM9AL3S4K49DKMI", Tokens{}, true},
		{"MQTT", ParseMQTTTopic, MQTTTopic(full), full, false},
		{"MQTT 12 levels", ParseMQTTTopic, "purista/info_service_init/none/none/x1/email/1/none/none/none/none/none", info, false},
		{"MQTT 13 levels placeholder", ParseMQTTTopic, "purista/info_service_init/none/none/x1/email/1/none/none/none/none/none/none", info, false},
		{"MQTT 11 levels", ParseMQTTTopic, "purista/a/b/c/d/e/f/g/h/i/j", Tokens{}, true},
		{"MQTT other prefix", ParseMQTTTopic, "other/a/b/c/d/e/f/g/h/i/j/k/l", Tokens{}, true},
		{"MQTT empty", ParseMQTTTopic, "", Tokens{}, true},
	}
	for _, tt := range tests {
		got, err := tt.parse(tt.in)
		if tt.fails {
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("%s: err = %v, want ErrInvalidName", tt.name, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v\nwant %+v", tt.name, got, err, tt.want)
		}
	}
}

func readTestdata(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}

func TestNamerMatchesUncached(t *testing.T) {
	var n Namer
	msgs := []*Message{
		{MessageType: TypeCommand, Sender: Address{ServiceName: "UserService", ServiceVersion: "1.0.0", ServiceTarget: "signUp", InstanceID: "4bf92f3577b34da6a3ce929d0e0e4736"},
			Receiver: &Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "sendWelcome"}, PrincipalID: "HTTPServer"},
		{MessageType: TypeCustomMessage, Sender: Address{ServiceName: "s"}, EventName: "userSignedUp", TenantID: "t-1"},
	}
	for range 2 { // second round: from the cache
		for _, m := range msgs {
			if got, want := n.NATSSubject(TokensOf(m)), NATSSubject(TokensOf(m)); got != want {
				t.Errorf("NATSSubject %q, want %q", got, want)
			}
			if got, want := n.MQTTTopic(TokensOf(m)), MQTTTopic(TokensOf(m)); got != want {
				t.Errorf("MQTTTopic %q, want %q", got, want)
			}
		}
	}
}

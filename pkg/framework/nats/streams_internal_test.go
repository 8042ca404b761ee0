package nats

import (
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestSameStream(t *testing.T) {
	want := jetstream.StreamConfig{Name: "S", Subjects: []string{"a.>", "b.>"}, Description: "d", Retention: jetstream.LimitsPolicy,
		Storage: jetstream.FileStorage, Discard: jetstream.DiscardOld, MaxAge: time.Hour, MaxBytes: 0, Duplicates: time.Minute}
	tests := []struct {
		name string
		edit func(c *jetstream.StreamConfig)
		same bool
	}{
		{"as set", func(*jetstream.StreamConfig) {}, true},
		{"server's -1 for no byte limit", func(c *jetstream.StreamConfig) { c.MaxBytes = -1 }, true},
		{"subjects in another order", func(c *jetstream.StreamConfig) { c.Subjects = []string{"b.>", "a.>"} }, true},
		{"server defaults we do not set", func(c *jetstream.StreamConfig) { c.MaxMsgs, c.Replicas = -1, 1 }, true},
		{"byte limit", func(c *jetstream.StreamConfig) { c.MaxBytes = 1 << 20 }, false},
		{"subject missing", func(c *jetstream.StreamConfig) { c.Subjects = []string{"a.>"} }, false},
		{"max age", func(c *jetstream.StreamConfig) { c.MaxAge = time.Minute }, false},
		{"storage", func(c *jetstream.StreamConfig) { c.Storage = jetstream.MemoryStorage }, false},
		{"duplicates window", func(c *jetstream.StreamConfig) { c.Duplicates = 2 * time.Minute }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have := want
			have.Subjects = slices.Clone(want.Subjects)
			tt.edit(&have)
			if got := sameStream(have, want); got != tt.same {
				t.Fatalf("sameStream = %v, want %v", got, tt.same)
			}
		})
	}
}

package benchutil

import (
	"errors"
	"testing"
	"time"
)

func TestTimePerOp(t *testing.T) {
	tests := []struct {
		name    string
		call    func() error
		wantErr bool
	}{
		{"counts calls", func() error { return nil }, false},
		{"returns the first error", func() error { return errors.New("boom") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := TimePerOp(4, 20*time.Millisecond, tt.call)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && d <= 0 {
				t.Fatalf("time per op %v", d)
			}
		})
	}
}

func TestLatencyOrder(t *testing.T) {
	p50, p99, err := Latency(100, func() error { return nil })
	if err != nil || p50 > p99 {
		t.Fatalf("p50 %v p99 %v err %v", p50, p99, err)
	}
	if _, _, err := Latency(10, func() error { return errors.New("x") }); err == nil {
		t.Fatal("want the call's error")
	}
}

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

func TestCompare(t *testing.T) {
	fast := Side{Name: "fast", Call: func() error { return nil }}
	slow := Side{Name: "slow", Call: func() error { time.Sleep(50 * time.Microsecond); return nil }}
	if err := Compare("unit", 4, 40*time.Millisecond, 20, slow, fast); err != nil {
		t.Fatal(err)
	}
	bad := Side{Name: "bad", Call: func() error { return errors.New("boom") }}
	if err := Compare("unit", 4, 20*time.Millisecond, 5, bad, fast); err == nil {
		t.Fatal("want the failing side's error")
	}
}

package drivers

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestPointRegisters(t *testing.T) {
	bit := uint8(3)
	for _, tc := range []struct {
		p    PointConfig
		want int
	}{
		{PointConfig{Table: TableCoil}, 1},
		{PointConfig{Table: TableHolding, Type: TypeBool, Bit: &bit}, 1},
		{PointConfig{Table: TableHolding, Type: TypeInt64}, 4},
		{PointConfig{Table: TableHolding, Type: TypeUint32}, 2},
		{PointConfig{Table: TableHolding, Type: TypeString, Length: 7}, 4},
		{PointConfig{Table: TableHolding, Type: TypeString, Length: 8}, 4},
	} {
		if got := tc.p.Registers(); got != tc.want {
			t.Errorf("%+v spans %d registers, want %d", tc.p, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Start: 100 * time.Millisecond, Max: time.Second}
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	b.Reset()
	if w := b.Next(); w != 100*time.Millisecond {
		t.Errorf("after Reset: %v, want 100ms", w)
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", ErrDeviceBusy), true},
		{fmt.Errorf("x: %w", ErrCommFailure), true},
		{ErrQueueFull, true},
		{ErrNotConnected, true},
		{fmt.Errorf("x: %w", ErrBadConfig), false},
		{ErrDeviceException, false},
		{ErrWriteMismatch, false},
		{ErrUntrustedServer, false},
		{errors.New("other"), false},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// The shell runs a write only on the connection it was queued under.
func TestShellGenerations(t *testing.T) {
	results := make(chan WriteResult, 4)
	s := NewShell("modbus", "vfd", nil, results, nil)
	if err := s.Enqueue(0, "sp", 1); err != nil {
		t.Fatal(err)
	}
	s.Connected()
	w := <-s.Writes()
	if !s.RejectStale(w) {
		t.Fatal("a write queued while disconnected ran on the next connection")
	}
	if r := <-results; !errors.Is(r.Err, ErrNotConnected) || r.Tag != "sp" {
		t.Errorf("result %+v, want ErrNotConnected for sp", r)
	}
	if err := s.Enqueue(0, "sp", 2); err != nil {
		t.Fatal(err)
	}
	if w := <-s.Writes(); s.RejectStale(w) {
		t.Error("a write queued on the current connection was rejected")
	}
	if err := s.Enqueue(0, "sp", 3); err != nil {
		t.Fatal(err)
	}
	s.Disconnected()
	s.Connected()
	if w := <-s.Writes(); !s.RejectStale(w) {
		t.Error("a write queued on an earlier connection ran on a new one")
	}
	for range WriteQueueSize {
		s.Enqueue(0, "sp", 0)
	}
	if err := s.Enqueue(0, "sp", 0); !errors.Is(err, ErrQueueFull) {
		t.Errorf("enqueue beyond the queue = %v, want ErrQueueFull", err)
	}
	if err := s.Begin(); err != nil {
		t.Fatal(err)
	}
	if err := s.Begin(); err == nil {
		t.Error("a second Begin succeeded")
	}
	s.End()
}

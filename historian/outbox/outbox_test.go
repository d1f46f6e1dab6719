package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func openT(t *testing.T, path string, o Options) *Outbox {
	t.Helper()
	ob, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

// chunk i holds "<i>;" and i%5+1 points.
func chunk(i int) Chunk {
	return Chunk{Points: i%5 + 1, Data: []byte(fmt.Sprintf("%d;", i))}
}

func TestOrderPeekAckReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	ob := openT(t, path, Options{})
	var all []Chunk
	want := 0
	for i := 0; i < 30; i++ {
		all = append(all, chunk(i))
		want += chunk(i).Points
	}
	// Two appends, so that order holds across transactions.
	for _, part := range [][]Chunk{all[:12], all[12:]} {
		res, err := ob.Append(part)
		if err != nil || res.DroppedPoints != 0 {
			t.Fatalf("Append: %+v, %v", res, err)
		}
	}
	if st := ob.Stats(); st.PendingPoints != int64(want) || st.PendingChunks != 30 || st.AcceptedPoints != uint64(want) {
		t.Fatalf("Stats after append = %+v, want %d points in 30 chunks", st, want)
	}

	// Peek takes whole chunks up to maxPoints (at least one), oldest first.
	b, err := ob.Peek(7, nil)
	if err != nil {
		t.Fatal(err)
	}
	// chunks 0,1,2 hold 1+2+3 = 6 points; chunk 3 (4 points) does not fit.
	if b.First != 0 || b.Last != 2 || b.Points != 6 || string(b.Data) != "0;1;2;" {
		t.Fatalf("Peek(7) = %+v %q, want chunks 0..2, 6 points, \"0;1;2;\"", b, b.Data)
	}
	if b1, _ := ob.Peek(1, nil); b1.Chunks != 1 || b1.Points != 1 {
		t.Errorf("Peek(1) = %+v, want one chunk", b1)
	}
	if b2, _ := ob.PeekAfter(b.Last, 5, nil); b2.First != 3 || b2.Last != 3 || string(b2.Data) != "3;" {
		t.Errorf("PeekAfter(2, 5) = %+v %q, want chunk 3 alone", b2, b2.Data)
	}
	if n, err := ob.Ack(b.Last); err != nil || n != 6 {
		t.Fatalf("Ack = %d, %v; want 6", n, err)
	}
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen: what was not acknowledged is still there, in order, and new
	// chunks go after it.
	ob = openT(t, path, Options{})
	if st := ob.Stats(); st.PendingPoints != int64(want-6) || st.PendingChunks != 27 {
		t.Fatalf("Stats after reopen = %+v, want %d points in 27 chunks", st, want-6)
	}
	if _, err := ob.Append([]Chunk{{Points: 1, Data: []byte("new;")}}); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for {
		b, err := ob.Peek(10, nil)
		if err != nil {
			t.Fatal(err)
		}
		if b.Chunks == 0 {
			break
		}
		got.Write(b.Data)
		if _, err := ob.Ack(b.Last); err != nil {
			t.Fatal(err)
		}
	}
	var wantS strings.Builder
	for i := 3; i < 30; i++ {
		wantS.WriteString(fmt.Sprintf("%d;", i))
	}
	wantS.WriteString("new;")
	if got.String() != wantS.String() {
		t.Errorf("drained %q, want %q", got.String(), wantS.String())
	}
	if st := ob.Stats(); st.PendingPoints != 0 || st.PendingBytes != 0 || st.PendingChunks != 0 {
		t.Errorf("Stats after draining = %+v, want empty", st)
	}
}

func TestBudget(t *testing.T) {
	// Each chunk: 8 key + 4 header + 100 payload = 112 bytes; budget of 5.
	const size = 112
	mk := func(i int) Chunk { return Chunk{Points: 10, Data: bytes.Repeat([]byte{byte('a' + i)}, 100)} }
	cases := []struct {
		name      string
		overflow  Overflow
		wantFirst byte // payload byte of the oldest chunk kept
	}{
		{"drop oldest", OverflowDropOldest, 'a' + 3},
		{"drop newest", OverflowDropNewest, 'a'},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ob := openT(t, filepath.Join(t.TempDir(), "o.db"), Options{MaxBytes: 5 * size, Overflow: c.overflow})
			var dropped int
			for i := 0; i < 8; i++ {
				res, err := ob.Append([]Chunk{mk(i)})
				if err != nil {
					t.Fatal(err)
				}
				dropped += res.DroppedPoints
			}
			st := ob.Stats()
			if st.PendingChunks != 5 || st.PendingBytes != 5*size || dropped != 30 || st.DroppedPoints != 30 {
				t.Errorf("Stats = %+v, dropped %d; want 5 chunks, %d bytes, 30 points dropped", st, dropped, 5*size)
			}
			b, err := ob.Peek(1, nil)
			if err != nil || b.Data[0] != c.wantFirst {
				t.Errorf("oldest kept = %q (%v), want %q", b.Data[:1], err, c.wantFirst)
			}
		})
	}
	ob := openT(t, filepath.Join(t.TempDir(), "o.db"), Options{MaxBytes: 50})
	if _, err := ob.Append([]Chunk{mk(0)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Append of a chunk over the budget: %v, want ErrTooLarge", err)
	}
}

// TestAckAfterDrop: chunks the budget dropped while a batch was in flight
// are not counted again by its Ack.
func TestAckAfterDrop(t *testing.T) {
	ob := openT(t, filepath.Join(t.TempDir(), "o.db"), Options{MaxBytes: 3 * 13})
	for i := 0; i < 3; i++ {
		if _, err := ob.Append([]Chunk{{Points: 1, Data: []byte{byte(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := ob.Peek(2, nil) // chunks 0 and 1 in flight
	if _, err := ob.Append([]Chunk{{Points: 1, Data: []byte{3}}}); err != nil {
		t.Fatal(err) // drops chunk 0
	}
	n, err := ob.Ack(b.Last)
	if err != nil || n != 1 {
		t.Errorf("Ack = %d, %v; want 1 (chunk 0 was dropped, chunk 1 acknowledged)", n, err)
	}
	if st := ob.Stats(); st.PendingPoints != 2 || st.DroppedPoints != 1 || st.AckedPoints != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestOpenInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.db")
	openT(t, path, Options{})
	if _, err := Open(path, Options{LockTimeout: 50e6}); err == nil {
		t.Error("second Open of a held outbox: want an error")
	}
}

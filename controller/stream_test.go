package controller

import (
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
)

// Published wakes every waiter at the next store and numbers the statuses.
func TestStreamPublishedWakesAndNumbers(t *testing.T) {
	e := &Engine{}
	ch1, ch2 := e.Published(), e.Published()
	select {
	case <-ch1:
		t.Fatal("closed before any publish")
	default:
	}
	e.storeStatus(&api.Status{})
	for _, ch := range []<-chan struct{}{ch1, ch2} {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatal("not woken by a publish")
		}
	}
	if s := e.Status(); s.Seq != 1 {
		t.Fatalf("seq = %d, want 1", s.Seq)
	}
	ch3 := e.Published()
	select {
	case <-ch3:
		t.Fatal("a fresh channel is already closed")
	default:
	}
	e.storeStatus(&api.Status{})
	<-ch3
	if s := e.Status(); s.Seq != 2 {
		t.Fatalf("seq = %d, want 2", s.Seq)
	}
}

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
)

// TestJournalE2EShelveWithReason shelves an alarm through the API of a
// running controller with users: without a reason it is refused, with one
// the alarm journal shows the transition with its user, reason and the
// definition's priority; the trend serves a tag of the line, and the
// stream the statuses.
func TestJournalE2EShelveWithReason(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a rig and a controller; skipped with -short")
	}
	p, _, _ := startLineWith(t, lineOptions{speed: 20, plant: func(f *plant.File) {
		f.Users = []plant.User{{Name: "olga", Role: plant.RoleOperator, TokenSHA256: sha("olga-token")}}
	}})
	c := api.NewClient(p.Server.URL())
	c.Token = ""
	waitGood(t, c, time.Minute)
	if _, err := c.Login(t.Context(), api.Login{Token: "olga-token"}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(t.Context(), api.Command{Command: api.CommandShelve, Alarm: "h2s_warn", Value: 600})
	if err != nil || res.OK || !strings.Contains(res.Error, "a reason is required") {
		t.Fatalf("shelve without a reason: %+v %v", res, err)
	}
	res, err = c.Send(t.Context(), api.Command{Command: api.CommandShelve, Alarm: "h2s_warn", Value: 600, Reason: "sensor being calibrated"})
	if err != nil || !res.OK {
		t.Fatalf("shelve: %+v %v", res, err)
	}
	var js []api.JournalEntry
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		js, err = c.AlarmJournal(t.Context(), api.JournalQuery{Alarm: "h2s_warn", Event: "shelved"})
		if err == nil && len(js) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal: %+v %v", js, err)
		}
	}
	if e := js[0]; e.User != "olga" || e.Reason != "sensor being calibrated" || e.Priority != "medium" || e.State != "shelved" || e.Tag != "reception.h2s" {
		t.Errorf("journal entry %+v", e)
	}
	tr, err := c.Trend(t.Context(), []string{"reception.h2s"}, time.Time{}, time.Time{}, 60)
	if err != nil || len(tr.Pens) != 1 || len(tr.Pens[0].Points) == 0 || tr.Pens[0].Unit != "ppm" {
		t.Errorf("trend: %+v %v", tr, err)
	}
	// The stream: five statuses with rising Seq, then the client stops.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var seqs []uint64
	err = c.Stream(ctx, func(st *api.Status) {
		if len(seqs) == 0 || st.Seq > seqs[len(seqs)-1] {
			seqs = append(seqs, st.Seq)
		}
		if len(seqs) == 5 {
			cancel()
		}
	})
	if err != nil || len(seqs) != 5 {
		t.Errorf("stream: %v, seqs %v", err, seqs)
	}
}

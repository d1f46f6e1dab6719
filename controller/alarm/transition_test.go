package alarm

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

const s = time.Second

// TestTransitions drives one alarm through a scripted scenario per case with
// a fake clock and compares every transition made, in order, with the
// expected journal. Together the cases exercise every rule of the table
// (TestMain checks that).
func TestTransitions(t *testing.T) {
	cases := []struct {
		name     string
		def      Definition
		settings Settings
		script   func(r *rig)
		want     []string
	}{
		{
			name: "high without delays: raise, ack, clear",
			def:  def(),
			script: func(r *rig) {
				r.val(10) // at the limit is not above it
				r.at(0)
				r.val(10.5)
				r.at(1 * s)
				r.at(2 * s) // steady: nothing
				r.ack("a")
				r.val(3)
				r.at(3 * s)
			},
			want: []string{
				"1s normal->unacknowledged condition_active",
				"2s unacknowledged->acknowledged acknowledged by ann",
				"3s acknowledged->normal condition_cleared",
			},
		},
		{
			name: "on-delay: raised only after the condition held for it, restarted by a dip",
			def:  def(func(d *Definition) { d.OnDelay = 2 * s }),
			script: func(r *rig) {
				r.val(11)
				r.at(0)
				r.at(1 * s)
				r.val(9) // dip restarts the delay
				r.at(1500 * time.Millisecond)
				r.val(11)
				r.at(2 * s)
				r.at(3 * s)
				r.at(3900 * time.Millisecond)
				r.at(4 * s)
			},
			want: []string{"4s normal->unacknowledged condition_active"},
		},
		{
			name: "off-delay: cleared only after the value stayed clear for it",
			def:  def(func(d *Definition) { d.OffDelay = 3 * s }),
			script: func(r *rig) {
				r.val(11)
				r.at(0)
				r.val(5)
				r.at(10 * s)
				r.at(12 * s)
				r.val(12) // back in alarm: the off-delay restarts
				r.at(12500 * time.Millisecond)
				r.val(5)
				r.at(13 * s)
				r.at(15 * s)
				r.at(16 * s)
			},
			want: []string{
				"0s normal->unacknowledged condition_active",
				"16s unacknowledged->returned_unacknowledged condition_cleared",
			},
		},
		{
			name: "high deadband: clears only at limit - deadband",
			def:  def(func(d *Definition) { d.Deadband = 2 }),
			script: func(r *rig) {
				for i, v := range []float64{11, 9.5, 8.01, 10.5, 8, 9, 10, 10.01} {
					r.val(v)
					r.at(time.Duration(i) * s)
				}
			},
			want: []string{
				"0s normal->unacknowledged condition_active",
				"4s unacknowledged->returned_unacknowledged condition_cleared",
				"7s returned_unacknowledged->unacknowledged condition_active",
			},
		},
		{
			name: "low_low deadband: clears only at limit + deadband",
			def:  def(func(d *Definition) { d.Kind, d.Limit, d.Deadband = KindLowLow, 5, 1 }),
			script: func(r *rig) {
				for i, v := range []float64{5, 4.9, 5.5, 5.99, 6, 5.5} {
					r.val(v)
					r.at(time.Duration(i) * s)
				}
			},
			want: []string{
				"1s normal->unacknowledged condition_active",
				"4s unacknowledged->returned_unacknowledged condition_cleared",
			},
		},
		{
			name: "low and high_high kinds",
			def:  def(func(d *Definition) { d.Kind, d.Limit = KindLow, 2 }),
			script: func(r *rig) {
				r.val(1)
				r.at(0)
				r.val(2)
				r.at(1 * s)
			},
			want: []string{
				"0s normal->unacknowledged condition_active",
				"1s unacknowledged->returned_unacknowledged condition_cleared",
			},
		},
		{
			name: "high_high",
			def:  def(func(d *Definition) { d.Kind, d.Limit = KindHighHigh, 90 }),
			script: func(r *rig) {
				r.val(91)
				r.at(0)
			},
			want: []string{"0s normal->unacknowledged condition_active"},
		},
		{
			name: "digital: active while non-zero",
			def:  def(func(d *Definition) { d.Kind, d.Limit = KindDigital, 0 }),
			script: func(r *rig) {
				r.at(0)
				r.val(1)
				r.at(1 * s)
				r.val(-1)
				r.at(2 * s)
				r.val(0)
				r.at(3 * s)
			},
			want: []string{
				"1s normal->unacknowledged condition_active",
				"3s unacknowledged->returned_unacknowledged condition_cleared",
			},
		},
		{
			name: "bad_quality: active while the input is not good, with on-delay",
			def:  def(func(d *Definition) { d.Kind, d.Limit, d.OnDelay = KindBadQuality, 0, time.Second }),
			script: func(r *rig) {
				r.val(50) // any value: only the quality counts
				r.at(0)
				r.qual(drivers.QualityBadCommFailure)
				r.at(1 * s)
				r.at(2 * s)
				r.qual(drivers.QualityGood)
				r.at(3 * s)
				r.qual(drivers.QualityUncertainStale) // uncertain is not good either
				r.at(4 * s)
				r.at(5 * s)
				r.ack("a")
				r.qual(drivers.QualityGood)
				r.at(6 * s)
			},
			want: []string{
				"2s normal->unacknowledged condition_active",
				"3s unacknowledged->returned_unacknowledged condition_cleared",
				"5s returned_unacknowledged->unacknowledged condition_active",
				"5s unacknowledged->acknowledged acknowledged by ann",
				"6s acknowledged->normal condition_cleared",
			},
		},
		{
			name: "an untrusted input neither raises nor clears a limit alarm",
			def:  def(func(d *Definition) { d.OnDelay = 2 * s }),
			script: func(r *rig) {
				r.in["x"] = sample{100, drivers.QualityBadOutOfRange}
				r.at(0)
				r.at(5 * s)
				r.val(11)
				r.at(6 * s)
				r.qual(drivers.QualityUncertainLastUsable) // restarts the on-delay
				r.at(7 * s)
				r.qual(drivers.QualityGood)
				r.at(8 * s)
				r.at(9 * s)
				r.at(10 * s)
				r.in["x"] = sample{0, drivers.QualityBadCommFailure}
				r.at(11 * s)
				r.in["x"] = sample{math.NaN(), drivers.QualityGood}
				r.at(12 * s)
				r.val(0)
				r.at(13 * s)
			},
			want: []string{
				"10s normal->unacknowledged condition_active",
				"13s unacknowledged->returned_unacknowledged condition_cleared",
			},
		},
		{
			name: "a tag never received is not good",
			def:  def(func(d *Definition) { d.Kind, d.Limit, d.Tag = KindBadQuality, 0, "missing" }),
			script: func(r *rig) {
				delete(r.in, "missing")
				r.at(0)
			},
			want: []string{"0s normal->unacknowledged condition_active"},
		},
		{
			name: "ack of returned unacknowledged goes to normal",
			def:  def(),
			script: func(r *rig) {
				r.val(11)
				r.at(0)
				r.val(0)
				r.at(1 * s)
				r.ack("a")
			},
			want: []string{
				"0s normal->unacknowledged condition_active",
				"1s unacknowledged->returned_unacknowledged condition_cleared",
				"1s returned_unacknowledged->normal acknowledged by ann",
			},
		},
		{
			name: "shelve normal; the condition is tracked while shelved; expiry annunciates it",
			def:  def(),
			script: func(r *rig) {
				r.at(0)
				r.shelve("a", 10*s)
				r.val(11)
				r.at(5 * s)
				r.at(9 * s)
				r.at(10 * s)
			},
			want: []string{
				"0s normal->shelved shelved by ann",
				"10s shelved->unacknowledged shelf_expired",
			},
		},
		{
			name: "shelve unacknowledged; it clears while shelved; expiry returns to normal",
			def:  def(),
			script: func(r *rig) {
				r.val(11)
				r.at(0)
				r.shelve("a", time.Minute)
				r.val(0)
				r.at(30 * s)
				r.at(60 * s)
				r.at(61 * s)
			},
			want: []string{
				"0s normal->unacknowledged condition_active",
				"0s unacknowledged->shelved shelved by ann",
				"1m0s shelved->normal shelf_expired",
			},
		},
		{
			name: "shelve acknowledged and returned unacknowledged",
			def:  def(),
			script: func(r *rig) {
				r.val(11)
				r.at(0)
				r.ack("a")
				r.shelve("a", time.Hour)
				r.unshelve("a")
				r.val(0)
				r.at(1 * s)
				r.shelve("a", time.Hour)
				r.unshelve("a")
			},
			want: []string{
				"0s normal->unacknowledged condition_active",
				"0s unacknowledged->acknowledged acknowledged by ann",
				"0s acknowledged->shelved shelved by ann",
				"0s shelved->unacknowledged unshelved by ann",
				"1s unacknowledged->returned_unacknowledged condition_cleared",
				"1s returned_unacknowledged->shelved shelved by ann",
				"1s shelved->normal unshelved by ann",
			},
		},
		{
			name: "a shelf outlasts a stopped unit; expiry with the unit stopped suppresses",
			def:  def(),
			script: func(r *rig) {
				r.val(11)
				r.at(0)
				r.shelve("a", 10*s)
				r.running["u"] = false
				r.at(1 * s)
				r.at(10 * s)
				r.running["u"] = true
				r.at(11 * s)
			},
			want: []string{
				"0s normal->unacknowledged condition_active",
				"0s unacknowledged->shelved shelved by ann",
				"10s shelved->suppressed_by_design shelf_expired",
				"11s suppressed_by_design->normal unit_running",
				"11s normal->unacknowledged condition_active",
			},
		},
		{
			name: "unshelve with the unit stopped suppresses",
			def:  def(),
			script: func(r *rig) {
				r.at(0)
				r.shelve("a", time.Hour)
				r.running["u"] = false
				r.at(1 * s)
				r.unshelve("a")
				r.at(2 * s)
			},
			want: []string{
				"0s normal->shelved shelved by ann",
				"1s shelved->suppressed_by_design unshelved by ann",
			},
		},
		{
			name: "suppressed by design from every annunciated state; on-delay counts afresh after",
			def:  def(func(d *Definition) { d.OnDelay = 2 * s }),
			script: func(r *rig) {
				r.at(0)
				r.running["u"] = false
				r.at(1 * s) // from normal
				r.running["u"] = true
				r.val(11)
				r.at(2 * s)
				r.at(4 * s)
				r.running["u"] = false
				r.at(5 * s) // from unacknowledged
				r.val(11)
				r.at(20 * s) // stays suppressed; the condition is not evaluated
				r.running["u"] = true
				r.at(21 * s) // the on-delay starts now, not at 5s
				r.at(22 * s)
				r.at(23 * s)
				r.ack("a")
				r.running["u"] = false
				r.at(24 * s) // from acknowledged
				r.running["u"] = true
				r.at(25 * s)
				r.at(27 * s)
				r.val(0)
				r.at(28 * s)
				r.running["u"] = false
				r.at(29 * s) // returned unacknowledged: kept until acknowledged
				r.at(30 * s)
				r.ack("a")
				r.at(31 * s) // now suppressed
			},
			want: []string{
				"1s normal->suppressed_by_design unit_stopped",
				"2s suppressed_by_design->normal unit_running",
				"4s normal->unacknowledged condition_active",
				"5s unacknowledged->returned_unacknowledged unit_stopped",
				"23s returned_unacknowledged->unacknowledged condition_active",
				"23s unacknowledged->acknowledged acknowledged by ann",
				"24s acknowledged->suppressed_by_design unit_stopped",
				"25s suppressed_by_design->normal unit_running",
				"27s normal->unacknowledged condition_active",
				"28s unacknowledged->returned_unacknowledged condition_cleared",
				"30s returned_unacknowledged->normal acknowledged by ann",
				"31s normal->suppressed_by_design unit_stopped",
			},
		},
		{
			name: "an alarm without a unit is never suppressed",
			def:  def(func(d *Definition) { d.Unit = "" }),
			script: func(r *rig) {
				r.running["u"] = false
				r.val(11)
				r.at(0)
			},
			want: []string{"0s normal->unacknowledged condition_active"},
		},
		{
			name: "out of service from every other state; not evaluated; return to service evaluates afresh",
			def:  def(),
			script: func(r *rig) {
				r.at(0)
				r.remove("a") // from normal
				r.val(11)
				r.at(1 * s) // not evaluated
				r.restore("a")
				r.at(2 * s)
				r.remove("a") // from unacknowledged
				r.restore("a")
				r.at(3 * s)
				r.ack("a")
				r.remove("a") // from acknowledged
				r.restore("a")
				r.at(4 * s)
				r.val(0)
				r.at(5 * s)
				r.remove("a") // from returned unacknowledged
				r.restore("a")
				r.shelve("a", time.Hour)
				r.remove("a") // from shelved: the shelf is dropped
				r.running["u"] = false
				r.at(6 * s) // out of service beats suppression
				r.restore("a")
				r.at(7 * s)
				r.remove("a") // from suppressed by design
			},
			want: []string{
				"0s normal->out_of_service removed_from_service by eng",
				"1s out_of_service->normal returned_to_service by eng",
				"2s normal->unacknowledged condition_active",
				"2s unacknowledged->out_of_service removed_from_service by eng",
				"2s out_of_service->normal returned_to_service by eng",
				"3s normal->unacknowledged condition_active",
				"3s unacknowledged->acknowledged acknowledged by ann",
				"3s acknowledged->out_of_service removed_from_service by eng",
				"3s out_of_service->normal returned_to_service by eng",
				"4s normal->unacknowledged condition_active",
				"5s unacknowledged->returned_unacknowledged condition_cleared",
				"5s returned_unacknowledged->out_of_service removed_from_service by eng",
				"5s out_of_service->normal returned_to_service by eng",
				"5s normal->shelved shelved by ann",
				"5s shelved->out_of_service removed_from_service by eng",
				"6s out_of_service->normal returned_to_service by eng",
				"7s normal->suppressed_by_design unit_stopped",
				"7s suppressed_by_design->out_of_service removed_from_service by eng",
			},
		},
		{
			name: "chattering: set at the fifth activation within the window, cleared after a quiet window",
			def:  def(func(d *Definition) { d.Kind, d.Limit = KindDigital, 0 }),
			script: func(r *rig) {
				for i := range 10 { // active at 0,2,4,6,8 s
					r.val(float64(1 - i%2))
					r.at(time.Duration(i) * s)
				}
				r.at(67 * s)
				r.at(68 * s) // 60 s after the last activation
				r.at(69 * s)
			},
			want: []string{
				"0s normal->unacknowledged condition_active",
				"1s unacknowledged->returned_unacknowledged condition_cleared",
				"2s returned_unacknowledged->unacknowledged condition_active",
				"3s unacknowledged->returned_unacknowledged condition_cleared",
				"4s returned_unacknowledged->unacknowledged condition_active",
				"5s unacknowledged->returned_unacknowledged condition_cleared",
				"6s returned_unacknowledged->unacknowledged condition_active",
				"7s unacknowledged->returned_unacknowledged condition_cleared",
				"8s returned_unacknowledged->unacknowledged condition_active",
				"8s unacknowledged->unacknowledged chattering",
				"9s unacknowledged->returned_unacknowledged condition_cleared",
				"1m8s returned_unacknowledged->returned_unacknowledged chattering_cleared",
			},
		},
		{
			name:     "activations spread wider than the window do not chatter",
			def:      def(func(d *Definition) { d.Kind, d.Limit = KindDigital, 0 }),
			settings: Settings{ChatterCount: 3, ChatterWindow: 10 * s},
			script: func(r *rig) {
				for i := range 12 { // active at 0, 6, 12, 18 … 33 s: 3 within 12 s > 10 s
					r.val(float64(1 - i%2))
					r.at(time.Duration(i) * 3 * s)
					if i%2 == 1 {
						r.ack("a")
					}
				}
			},
			want: nil, // checked below: no chattering entry
		},
		{
			name:     "chattering is counted while shelved",
			def:      def(func(d *Definition) { d.Kind, d.Limit = KindDigital, 0 }),
			settings: Settings{ChatterCount: 2, ChatterWindow: 10 * s, ChatterQuiet: 5 * s},
			script: func(r *rig) {
				r.at(0)
				r.shelve("a", time.Hour)
				for i := 1; i <= 4; i++ {
					r.val(float64(i % 2))
					r.at(time.Duration(i) * s)
				}
				r.at(8 * s) // quiet since 3 s
			},
			want: []string{
				"0s normal->shelved shelved by ann",
				"3s shelved->shelved chattering",
				"8s shelved->shelved chattering_cleared",
			},
		},
	}
	ran := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ran++
			r := newRig(t, c.settings, c.def)
			c.script(r)
			if c.want == nil {
				for _, l := range r.log {
					if strings.Contains(l, "chattering") {
						t.Errorf("unexpected %q", l)
					}
				}
				return
			}
			if !slices.Equal(r.log, c.want) {
				t.Errorf("journal:\ngot  %s\nwant %s", strings.Join(r.log, "\n     "), strings.Join(c.want, "\n     "))
			}
			// The in-memory journal holds the same, in the same order.
			var j []string
			for _, tr := range r.set.Journal() {
				j = append(j, format(tr))
			}
			if !slices.Equal(j, r.log) {
				t.Errorf("Journal() = %q, want %q", j, r.log)
			}
		})
	}
}

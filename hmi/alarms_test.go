package hmi

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
)

// alarmLine is the running line with n alarms that need attention, cycling
// through priorities, states and tags (so their values carry different
// units), one shelved and one out-of-service alarm, and counts that agree.
func alarmLine(n int) api.Status {
	st := runningLine(31.5)
	prios := []string{"critical", "high", "medium", "low"}
	states := []string{"unacknowledged", "acknowledged", "returned_unacknowledged", "acknowledged", "acknowledged"}
	tags := []string{"press.cake_ds", "pulper.level", "pulper.water_valve", "hopper.weight", "press.back_pressure"}
	var c api.AlarmCounts
	for i := range n {
		a := api.AlarmStatus{
			Name: fmt.Sprintf("alarm_%02d_level_hh", i), Tag: tags[i%5], Priority: prios[i%4], Unit: strings.Split(tags[i%5], ".")[0],
			Message: fmt.Sprintf("Level high-high %d: stop the feed, check the drain valve", i), State: states[i%5],
			Since: st.Time.Add(-time.Duration(i) * time.Minute), Value: 61.3 + float64(i), Quality: drivers.QualityGood, Active: true,
		}
		switch {
		case a.Tag == "pulper.water_valve":
			a.Value = 1 // an on/off point
		case i == 9:
			a.Quality = drivers.QualityBadCommFailure
		}
		if a.State == "acknowledged" {
			a.User = "maria"
		} else {
			c.Unacknowledged++
		}
		switch a.Priority {
		case "critical":
			c.Critical++
		case "high":
			c.High++
		case "medium":
			c.Medium++
		case "low":
			c.Low++
		}
		st.Alarms = append(st.Alarms, a)
	}
	st.Alarms = append(st.Alarms,
		api.AlarmStatus{Name: "h2s_warn", Tag: "biofilter.h2s", Priority: "medium", Unit: "biofilter", State: "shelved", User: "jon",
			ShelvedUntil: st.Time.Add(7 * time.Minute), Message: "H2S above 5 ppm", Quality: drivers.QualityGood, Value: 6.1},
		api.AlarmStatus{Name: "ph_low", Tag: "tank.ph", Priority: "low", Unit: "tank", State: "out_of_service", User: "sup",
			Message: "pH low", Quality: drivers.QualityGood, Value: 5.5})
	c.Shelved, c.OutOfService = 1, 1
	st.AlarmCounts = c
	return st
}

// startedOn runs the HMI signed in on a w×h screen against f, and opens
// screen key.
func startedOn(t *testing.T, f *fakeController, w, h int, screenKey rune) *recordingScreen {
	t.Helper()
	scr := newRecordingScreenSize(t, w, h)
	started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	runeKey(scr, screenKey)
	return scr
}

// setJournal sets the entries the fake's alarm journal serves.
func setJournal(f *fakeController, es []api.JournalEntry) {
	f.with(func(f *fakeController) { f.journal = es })
}

// waitJournalQuery waits until the journal was asked at least n times and
// returns the queries.
func waitJournalQuery(t *testing.T, f *fakeController, n int) []url.Values {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var qs []url.Values
		f.with(func(f *fakeController) { qs = append(qs, f.journalQ...) })
		if len(qs) >= n {
			return qs
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal asked %d times, want %d", len(qs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alarmNameRE finds the alarm names on a screen.
var alarmNameRE = regexp.MustCompile(`alarm_\d\d_level_hh|h2s_warn|ph_low|new_critical`)

// tableNames are the alarm names in the rows of the body, top down (not
// those of the message line).
func tableNames(s snapshot) []string {
	var names []string
	for _, l := range s.lines[5 : len(s.lines)-2] {
		if n := alarmNameRE.FindString(l); n != "" && !strings.HasPrefix(l, "▸") {
			names = append(names, n)
		}
	}
	return names
}

// selectedName is the alarm name on the row shown in reverse video.
func selectedName(s snapshot) string {
	for y, l := range s.lines {
		name := alarmNameRE.FindString(l)
		if name == "" {
			continue
		}
		_, _, attr := s.styles[y][2].Decompose()
		if attr&tcell.AttrReverse != 0 {
			return name
		}
	}
	return ""
}

func TestAlarmsScrollReachesEveryAlarm(t *testing.T) {
	st := alarmLine(40)
	f := newFakeController(t, st)
	scr := startedOn(t, f, 80, 24, '3')
	snap := waitText(t, scr, "40 alarms:")
	c := st.AlarmCounts
	counts := fmt.Sprintf("40 alarms: %d crit %d high %d med %d low · ! %d unack", c.Critical, c.High, c.Medium, c.Low, c.Unacknowledged)
	if !snap.contains(counts) {
		t.Errorf("counts line is not %q:\n%s", counts, snap)
	}
	// ↓ one row at a time: the selection visits every alarm.
	selected := map[string]bool{}
	prev := ""
	for i := range 40 {
		if i > 0 {
			key(scr, tcell.KeyDown)
		}
		snap = waitScreen(t, scr, fmt.Sprintf("row %d selected", i+1), func(s snapshot) bool { n := selectedName(s); return n != "" && n != prev })
		prev = selectedName(snap)
		selected[prev] = true
	}
	// PgDn from the top: the pages show every alarm.
	key(scr, tcell.KeyHome)
	waitScreen(t, scr, "the first alarm selected after Home", func(s snapshot) bool { return selectedName(s) == "alarm_00_level_hh" })
	seen := map[string]bool{}
	firstRow := func(s snapshot) string {
		for _, l := range s.lines[7:] {
			if n := alarmNameRE.FindString(l); n != "" {
				return n
			}
		}
		return ""
	}
	snap = scr.snapshot()
	for page := 0; ; page++ {
		for _, n := range tableNames(snap) {
			seen[n] = true
		}
		if seen[prev] || page == 10 { // the last alarm is on the last page
			break
		}
		top := firstRow(snap)
		key(scr, tcell.KeyPgDn)
		snap = waitScreen(t, scr, "the next page", func(s snapshot) bool { return firstRow(s) != top })
	}
	for _, a := range st.Alarms {
		if !suppressed(a) && (!seen[a.Name] || !selected[a.Name]) {
			t.Errorf("%s: selected by ↓ %v, shown by PgDn %v", a.Name, selected[a.Name], seen[a.Name])
		}
	}
	if seen["h2s_warn"] || seen["ph_low"] {
		t.Errorf("the summary lists shelved or out-of-service alarms")
	}
	if len(seen) != 40 || len(selected) != 40 {
		t.Errorf("PgDn showed %d alarms, ↓ selected %d; want 40", len(seen), len(selected))
	}
	// End selects the last; Home the first.
	key(scr, tcell.KeyEnd)
	waitScreen(t, scr, "the last alarm selected after End", func(s snapshot) bool { return selectedName(s) == prev })
	key(scr, tcell.KeyHome)
	waitScreen(t, scr, "the first alarm selected after Home", func(s snapshot) bool { return selectedName(s) == "alarm_00_level_hh" })
}

func TestAlarmsOrderAndColours(t *testing.T) {
	f := newFakeController(t, alarmLine(40))
	scr := startedOn(t, f, 80, 24, '3')
	snap := waitText(t, scr, "40 alarms:")
	var order []string
	for _, l := range snap.lines {
		if n := alarmNameRE.FindString(l); n != "" {
			order = append(order, n)
		}
	}
	// Unacknowledged first, then critical, high, medium, low, newest first.
	want := []string{"alarm_00_level_hh", "alarm_12_level_hh", "alarm_20_level_hh", "alarm_32_level_hh", "alarm_05_level_hh"}
	if len(order) < 5 || !slices.Equal(order[:5], want) {
		t.Errorf("first rows %v, want %v", order, want)
	}
	row, col, _ := snap.find("alarm_00_level_hh")
	if !strings.HasPrefix(snap.lines[row], "! ") || snap.fg(row, col) != colorBad {
		t.Errorf("an unacknowledged row is not red with \"! \": %q", snap.lines[row])
	}
	// PgDn shows the acknowledged ones, in yellow, with who acknowledged.
	key(scr, tcell.KeyPgDn)
	snap = waitText(t, scr, "alarm_04_level_hh")
	row, col, _ = snap.find("alarm_04_level_hh")
	if snap.fg(row, col) != colorWarn || !strings.Contains(snap.lines[row], " ack ") {
		t.Errorf("an acknowledged row is not yellow and \"ack\": %q", snap.lines[row])
	}
	// Values carry their tag's unit and precision: pulper.level has 1.
	row, _, _ = snap.find("alarm_01_level_hh")
	if !strings.Contains(snap.lines[row], " 62.3 % ") {
		t.Errorf("pulper.level's alarm value is not \"62.3 %%\": %q", snap.lines[row])
	}
}

func TestAlarmsAckFifthRow(t *testing.T) {
	f := newFakeController(t, alarmLine(40))
	scr := startedOn(t, f, 80, 24, '3')
	waitText(t, scr, "40 alarms:")
	for range 4 {
		key(scr, tcell.KeyDown)
	}
	waitScreen(t, scr, "the 5th row selected", func(s snapshot) bool { return selectedName(s) == "alarm_05_level_hh" })
	// The bottom rows give the selected alarm's guidance in full.
	waitText(t, scr, "▸ alarm_05_level_hh: Level high-high 5: stop the feed, check the drain valve")
	runeKey(scr, 'k')
	got := waitCommands(t, f, 1)
	if len(got) != 1 || got[0].Command != api.CommandAck || got[0].Alarm != "alarm_05_level_hh" {
		t.Fatalf("commands %+v, want one ack of alarm_05_level_hh", got)
	}
	// Enter acknowledges too.
	key(scr, tcell.KeyUp)
	waitScreen(t, scr, "the 4th row selected", func(s snapshot) bool { return selectedName(s) == "alarm_32_level_hh" })
	key(scr, tcell.KeyEnter)
	got = waitCommands(t, f, 2)
	if got[1].Command != api.CommandAck || got[1].Alarm != "alarm_32_level_hh" {
		t.Fatalf("Enter sent %+v, want ack of alarm_32_level_hh", got[1])
	}
}

func TestAlarmsAckPageAndAll(t *testing.T) {
	f := newFakeController(t, alarmLine(40))
	scr := startedOn(t, f, 80, 24, '3')
	snap := waitText(t, scr, "40 alarms:")
	waiting := func(s snapshot) []string {
		var names []string
		for _, l := range s.lines {
			if n := alarmNameRE.FindString(l); n != "" && strings.HasPrefix(l, "! ") {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return names
	}
	acks := func(cs []api.Command) []string {
		var names []string
		for _, c := range cs {
			if c.Command != api.CommandAck {
				t.Errorf("p sent %+v", c)
			}
			names = append(names, c.Alarm)
		}
		slices.Sort(names)
		return names
	}
	// 16 alarms wait, more than fit on a page at 80×24.
	first := waiting(snap)
	if len(first) == 0 || len(first) >= 16 {
		t.Fatalf("%d unacknowledged rows on the first page, want some but not all 16:\n%s", len(first), snap)
	}
	runeKey(scr, 'p')
	got := waitCommands(t, f, len(first))
	if a := acks(got); !slices.Equal(a, first) {
		t.Errorf("p acknowledged %v, want the page's %v", a, first)
	}
	// The next page has the rest: p sends those.
	key(scr, tcell.KeyPgDn)
	snap = waitScreen(t, scr, "the second page", func(s snapshot) bool { return len(waiting(s)) > 0 && !slices.Contains(waiting(s), first[0]) })
	second := waiting(snap)
	if len(first)+len(second) != 16 {
		t.Errorf("pages 1 and 2 show %d and %d unacknowledged alarms, want 16 in all", len(first), len(second))
	}
	runeKey(scr, 'p')
	got = waitCommands(t, f, 16)
	if a := acks(got[len(first):]); !slices.Equal(a, second) {
		t.Errorf("p on page 2 acknowledged %v, want %v", a, second)
	}
	runeKey(scr, 'K')
	got = waitCommands(t, f, 17)
	if len(got) != 17 || got[16].Command != api.CommandAckAll || got[16].Alarm != "" {
		t.Errorf("K sent %+v, want one ack_all after the 16 acks", got[16:])
	}
}

func TestAlarmsShelve(t *testing.T) {
	f := newFakeController(t, alarmLine(40))
	scr := startedOn(t, f, 80, 24, '3')
	waitText(t, scr, "40 alarms:")
	key(scr, tcell.KeyDown)
	waitScreen(t, scr, "the 2nd row selected", func(s snapshot) bool { return selectedName(s) == "alarm_12_level_hh" })

	// An empty reason sends nothing and says why.
	runeKey(scr, 'v')
	waitText(t, scr, "Shelve alarm_12_level_hh")
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyEnter) // leaves the reason field for OK
	key(scr, tcell.KeyEnter) // OK
	waitText(t, scr, "a reason is required; not shelved")

	runeKey(scr, 'v')
	waitText(t, scr, "Shelve alarm_12_level_hh")
	key(scr, tcell.KeyTab)
	for _, r := range "sensor being replaced" {
		runeKey(scr, r)
	}
	key(scr, tcell.KeyEnter)
	key(scr, tcell.KeyEnter)
	got := waitCommands(t, f, 1)
	want := api.Command{Command: api.CommandShelve, Alarm: "alarm_12_level_hh", Value: 600, Reason: "sensor being replaced"}
	if got[0] != want {
		t.Errorf("sent %+v, want %+v (and nothing for the empty reason)", got[0], want)
	}

	// Minutes out of range send nothing either.
	runeKey(scr, 'v')
	waitText(t, scr, "Shelve alarm_12_level_hh")
	for range 2 {
		key(scr, tcell.KeyBackspace2)
	}
	for _, r := range "2000" {
		runeKey(scr, r)
	}
	key(scr, tcell.KeyTab)
	runeKey(scr, 'x')
	key(scr, tcell.KeyEnter)
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "minutes must be 1 to 1440")
	runeKey(scr, 'K')
	got = waitCommands(t, f, 2)
	if got[1].Command != api.CommandAckAll {
		t.Errorf("after the refused prompt the controller got %+v, want only ack_all", got[1:])
	}
}

func TestAlarmsOutOfService(t *testing.T) {
	f := newFakeController(t, alarmLine(40))
	scr := startedOn(t, f, 80, 24, '3')
	waitText(t, scr, "40 alarms:")
	runeKey(scr, 'o')
	waitText(t, scr, "Out of service: alarm_00_level_hh")
	for _, r := range "probe removed" {
		runeKey(scr, r)
	}
	key(scr, tcell.KeyEnter)
	key(scr, tcell.KeyEnter)
	got := waitCommands(t, f, 1)
	want := api.Command{Command: api.CommandOutOfService, Alarm: "alarm_00_level_hh", Reason: "probe removed"}
	if got[0] != want {
		t.Errorf("sent %+v, want %+v", got[0], want)
	}
}

func TestAlarmsSelectionFollowsAlarm(t *testing.T) {
	st := alarmLine(40)
	f := newFakeController(t, st)
	scr := startedOn(t, f, 80, 24, '3')
	waitText(t, scr, "40 alarms:")
	for range 3 {
		key(scr, tcell.KeyDown)
	}
	waitScreen(t, scr, "the 4th row selected", func(s snapshot) bool { return selectedName(s) == "alarm_32_level_hh" })
	// A new critical alarm comes first, and the first one is acknowledged:
	// the rows move, the selection stays on alarm_32_level_hh.
	st2 := alarmLine(40)
	st2.Seq++
	st2.Alarms[0].State = "acknowledged"
	st2.Alarms = append([]api.AlarmStatus{{Name: "new_critical", Tag: "press.speed", Priority: "critical", State: "unacknowledged",
		Since: st2.Time, Value: 40, Quality: drivers.QualityGood, Active: true, Message: "new"}}, st2.Alarms...)
	f.setStatus(st2)
	snap := waitText(t, scr, "new_critical")
	if got := selectedName(snap); got != "alarm_32_level_hh" {
		t.Errorf("selection moved to %q after the reorder:\n%s", got, snap)
	}
	runeKey(scr, 'k')
	got := waitCommands(t, f, 1)
	if got[0].Alarm != "alarm_32_level_hh" {
		t.Errorf("k after the reorder acknowledged %q, want alarm_32_level_hh", got[0].Alarm)
	}
}

func TestAlarmsFilter(t *testing.T) {
	f := newFakeController(t, alarmLine(40))
	scr := startedOn(t, f, 80, 24, '3')
	waitText(t, scr, "40 alarms:")
	runeKey(scr, '/')
	waitText(t, scr, "Filter:")
	// Letters go to the filter, not to the global keys (q would quit).
	for _, r := range "Level High-High 1" {
		runeKey(scr, r)
	}
	key(scr, tcell.KeyEnter)
	snap := waitText(t, scr, "11 of 40 shown")
	for _, n := range tableNames(snap) {
		if !strings.HasPrefix(n, "alarm_1") && n != "alarm_01_level_hh" {
			t.Errorf("filtered list shows %s", n)
		}
	}
	// k acknowledges within the filtered list.
	runeKey(scr, 'k')
	if got := waitCommands(t, f, 1); !strings.HasPrefix(got[0].Alarm, "alarm_1") {
		t.Errorf("k in the filtered list acknowledged %q", got[0].Alarm)
	}
	// / then Esc clears it.
	runeKey(scr, '/')
	waitText(t, scr, "Filter:")
	key(scr, tcell.KeyEscape)
	waitScreen(t, scr, "the filter cleared", func(s snapshot) bool { return !s.contains("shown") && s.contains("alarm_00_level_hh") })
	// :alarms FILTER filters too.
	runeKey(scr, ':')
	for _, r := range "alarms rtn unack" {
		runeKey(scr, r)
	}
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "8 of 40 shown")
}

func TestAlarmsTrendAndJournalKeys(t *testing.T) {
	f := newFakeController(t, alarmLine(40))
	scr := startedOn(t, f, 80, 24, '3')
	waitText(t, scr, "40 alarms:")
	runeKey(scr, 'j')
	waitText(t, scr, "Alarms › Alarm journal “alarm=alarm_00_level_hh”")
	q := waitJournalQuery(t, f, 1)[0]
	if q.Get("alarm") != "alarm_00_level_hh" {
		t.Errorf("journal asked for alarm %q", q.Get("alarm"))
	}
}

func TestShelvedList(t *testing.T) {
	f := newFakeController(t, alarmLine(40))
	scr := startedOn(t, f, 80, 24, '8')
	snap := waitText(t, scr, "1 shelved, 1 out of service")
	if !snap.contains("h2s_warn") || !snap.contains("ph_low") || snap.contains("alarm_00") {
		t.Fatalf("shelved list:\n%s", snap)
	}
	if !snap.contains("0:07:00") {
		t.Errorf("no remaining time 0:07:00 for h2s_warn:\n%s", snap)
	}
	runeKey(scr, 'O') // h2s_warn is shelved, not out of service
	waitText(t, scr, "V unshelves it")
	runeKey(scr, 'V')
	key(scr, tcell.KeyDown)
	waitScreen(t, scr, "ph_low selected", func(s snapshot) bool { return selectedName(s) == "ph_low" })
	runeKey(scr, 'O')
	got := waitCommands(t, f, 2)
	if got[0] != (api.Command{Command: api.CommandUnshelve, Alarm: "h2s_warn"}) || got[1] != (api.Command{Command: api.CommandInService, Alarm: "ph_low"}) {
		t.Errorf("sent %+v, want unshelve h2s_warn then in_service ph_low", got)
	}
}

// journalEntries are a few transitions of the alarm line's alarms, oldest
// first as the controller answers.
func journalEntries(st api.Status) []api.JournalEntry {
	var es []api.JournalEntry
	for i, a := range st.Alarms[:3] {
		t0 := st.Time.Add(-time.Duration(30-i*7) * time.Minute)
		es = append(es,
			api.JournalEntry{Time: t0, Alarm: a.Name, Priority: a.Priority, Unit: a.Unit, Tag: a.Tag, Event: "raised", State: "unacknowledged", Value: a.Value, Message: a.Message},
			api.JournalEntry{Time: t0.Add(2 * time.Minute), Alarm: a.Name, Priority: a.Priority, Unit: a.Unit, Tag: a.Tag, Event: "acknowledged", State: "acknowledged", Value: a.Value, User: "maria", Message: a.Message})
	}
	es = append(es, api.JournalEntry{Time: st.Time.Add(-time.Minute), Alarm: "h2s_warn", Priority: "medium", Unit: "biofilter", Tag: "biofilter.h2s",
		Event: "shelved", State: "shelved", Value: 6.1, User: "jon", Reason: "sensor being replaced", Message: "H2S above 5 ppm"})
	slices.SortFunc(es, func(a, b api.JournalEntry) int { return a.Time.Compare(b.Time) })
	return es
}

func TestJournalShowsEntriesAndFilters(t *testing.T) {
	st := alarmLine(40)
	f := newFakeController(t, st)
	setJournal(f, journalEntries(st))
	scr := startedOn(t, f, 80, 24, '7')
	snap := waitText(t, scr, "7 entries, newest first")
	rows := tableNames(snap)
	if len(rows) != 7 || rows[0] != "h2s_warn" || rows[6] != "alarm_00_level_hh" {
		t.Errorf("journal rows %v, want 7 newest first:\n%s", rows, snap)
	}
	q := waitJournalQuery(t, f, 1)[0]
	if from := q.Get("from"); from == "" || !strings.HasPrefix(from, st.Time.Add(-24*time.Hour).Format("2006-01-02T15:04")) {
		t.Errorf("default window from %q, want 24 h before plant time %s", from, st.Time)
	}

	// Terms go to the controller; free text filters here.
	runeKey(scr, '/')
	waitText(t, scr, "Filter:")
	for _, r := range "priority=high unit=pulper event=acknowledged since=1h maria" {
		runeKey(scr, r)
	}
	key(scr, tcell.KeyEnter)
	qs := waitJournalQuery(t, f, 2)
	q = qs[len(qs)-1]
	for k, v := range map[string]string{"priority": "high", "unit": "pulper", "event": "acknowledged"} {
		if q.Get(k) != v {
			t.Errorf("query %s=%q, want %q (%v)", k, q.Get(k), v, q)
		}
	}
	if from := q.Get("from"); !strings.HasPrefix(from, st.Time.Add(-time.Hour).Format("2006-01-02T15:04")) {
		t.Errorf("since=1h asked from %q", from)
	}
	// The fake ignores the terms; the free text keeps maria's three acks.
	snap = waitText(t, scr, "3 entries")
	if !snap.contains("filter: priority=high unit=pulper event=acknowledged since=1h maria") {
		t.Errorf("active filter not shown:\n%s", snap)
	}
	if snap.contains("h2s_warn") {
		t.Errorf("free text \"maria\" kept jon's entry:\n%s", snap)
	}

	// w cycles the window and fetches again.
	runeKey(scr, 'w')
	qs = waitJournalQuery(t, f, 3)
	if from := qs[2].Get("from"); !strings.HasPrefix(from, st.Time.Add(-8*time.Hour).Format("2006-01-02T15:04")) {
		t.Errorf("w after 1h asked from %q, want 8 h back", from)
	}
	// R fetches again with the same terms.
	runeKey(scr, 'R')
	qs = waitJournalQuery(t, f, 4)
	if qs[3].Encode() != qs[2].Encode() {
		t.Errorf("R asked %v, want the same as before %v", qs[3], qs[2])
	}
}

// goldenAlarmScreen checks screen key of the 40-alarm line against its
// goldens at 80×24 and 160×48.
func goldenAlarmScreen(t *testing.T, name string, screenKey rune, ready string) {
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		name := fmt.Sprintf("%s-%dx%d", name, size.w, size.h)
		t.Run(name, func(t *testing.T) {
			st := alarmLine(40)
			f := newFakeController(t, st)
			setJournal(f, journalEntries(st))
			scr := startedOn(t, f, size.w, size.h, screenKey)
			checkGolden(t, f, waitSettled(t, scr, ready), name)
		})
	}
}

func TestAlarmsGolden(t *testing.T)  { goldenAlarmScreen(t, "alarms", '3', "40 alarms:") }
func TestShelvedGolden(t *testing.T) { goldenAlarmScreen(t, "shelved", '8', "1 shelved") }
func TestJournalGolden(t *testing.T) { goldenAlarmScreen(t, "journal", '7', "entries, newest first") }

// TestAlarmScreensEmpty: the three screens say so when there is nothing.
func TestAlarmScreensEmpty(t *testing.T) {
	st := runningLine(31.5)
	f := newFakeController(t, st)
	scr := startedOn(t, f, 80, 24, '3')
	waitText(t, scr, "No alarms need attention.")
	runeKey(scr, '8')
	waitText(t, scr, "No alarm is shelved or out of service.")
	runeKey(scr, '7')
	waitText(t, scr, "No alarm events in this window match.")
}

func TestJournalError(t *testing.T) {
	h := newHMI(api.NewClient("http://127.0.0.1:1"), Options{})
	j := h.screens["journal"].(*journal)
	j.err = &api.APIError{Status: 500, Message: "journal unavailable"}
	j.refresh()
	got := j.text.GetText()
	if want := paint(colorWarn, alarmMark+"cannot read the alarm journal: HTTP 500: journal unavailable; R tries again"); !strings.Contains(got, want) {
		t.Errorf("journal error shows %q, want %q", got, want)
	}
	j.err, j.loading = nil, true
	j.refresh()
	if got := j.text.GetText(); !strings.Contains(got, "loading…") {
		t.Errorf("a fetch in flight shows %q", got)
	}
}

func TestParseJournalFilter(t *testing.T) {
	f, err := parseJournalFilter("alarm=pulper_level_hh Priority=HIGH unit=pulper event=shelved since=7d Drain valve")
	if err != nil {
		t.Fatal(err)
	}
	want := journalFilter{alarm: "pulper_level_hh", priority: "high", unit: "pulper", event: "shelved", window: 7 * 24 * time.Hour, text: []string{"drain", "valve"}}
	if f.alarm != want.alarm || f.priority != want.priority || f.unit != want.unit || f.event != want.event || f.window != want.window || !slices.Equal(f.text, want.text) {
		t.Errorf("parsed %+v, want %+v", f, want)
	}
	if s := f.String(); s != "alarm=pulper_level_hh priority=high unit=pulper event=shelved since=7d drain valve" {
		t.Errorf("String = %q", s)
	}
	for _, bad := range []string{"since=x", "since=-1h", "since=0d"} {
		if _, err := parseJournalFilter(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

// TestAlarmsViewerAndRefusal: a viewer is told before any prompt; the
// controller's refusal (out of service needs a supervisor) shows with its
// reason.
func TestAlarmsViewerAndRefusal(t *testing.T) {
	f := newFakeController(t, alarmLine(40))
	f.with(func(f *fakeController) {
		f.users = map[string][2]string{"olga": {"s3cret", "operator"}, "vic": {"look", "viewer"}}
		f.refuse[api.CommandOutOfService] = "out_of_service refused: olga is operator; out of service needs supervisor"
	})
	scr := newRecordingScreenSize(t, 80, 24)
	opts := signedIn(f, scr)
	opts.Login = &api.Login{User: "vic", Password: "look"}
	started(t, context.Background(), opts)
	waitText(t, scr, "vic·viewer")
	runeKey(scr, '3')
	waitText(t, scr, "40 alarms:")
	runeKey(scr, 'v')
	snap := waitText(t, scr, "may only view")
	if snap.contains("Shelve alarm_00") {
		t.Errorf("a viewer was asked for a shelving reason:\n%s", snap)
	}

	f2 := newFakeController(t, alarmLine(40))
	f2.with(func(f *fakeController) {
		f.users = map[string][2]string{"olga": {"s3cret", "operator"}}
		f.refuse[api.CommandOutOfService] = "out_of_service refused: olga is operator; out of service needs supervisor"
	})
	scr2 := newRecordingScreenSize(t, 80, 24)
	opts2 := signedIn(f2, scr2)
	opts2.Login = &api.Login{User: "olga", Password: "s3cret"}
	started(t, context.Background(), opts2)
	waitText(t, scr2, "olga·operator")
	runeKey(scr2, '3')
	waitText(t, scr2, "40 alarms:")
	runeKey(scr2, 'o')
	waitText(t, scr2, "Out of service: alarm_00_level_hh")
	for _, r := range "probe removed" {
		runeKey(scr2, r)
	}
	key(scr2, tcell.KeyEnter)
	key(scr2, tcell.KeyEnter)
	waitText(t, scr2, "! out of service alarm_00_level_hh refused: olga is operator")
}

package e2e

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// term is the pretreat binary running in a tmux session of its own, driven
// by keys as a person at a terminal would, and read back from tmux's copy
// of the screen.
type term struct {
	t       *testing.T
	session string
	log     []string // every screen captured by waitFor, for the failure report
}

// tmux needs the tmux binary; without it the test skips, except in CI
// where .ci/run installs it.
func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed (.ci/run installs it)")
		}
		t.Skip("tmux is not installed")
	}
}

// startTerm runs `pretreat args…` in a new detached tmux session of
// width×height; the session is killed when the test ends.
func startTerm(t *testing.T, width, height int, args ...string) *term {
	t.Helper()
	needTmux(t)
	name := "pretreat-e2e-" + strings.ReplaceAll(t.Name(), "/", "-")
	_ = exec.Command("tmux", "kill-session", "-t", name).Run() // a leftover of an earlier run
	cmdline := append([]string{bin}, args...)
	for i, a := range cmdline {
		cmdline[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	c := exec.Command("tmux", "new-session", "-d", "-s", name, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height),
		// remain-on-exit keeps the pane, so that a crash stays readable.
		strings.Join(cmdline, " ")+"; echo EXITED $?; sleep 600")
	c.Env = append(os.Environ(), "TERM=xterm-256color")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	tm := &term{t: t, session: name}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", tm.capture())
		}
		_ = exec.Command("tmux", "kill-session", "-t", name).Run()
	})
	return tm
}

// capture returns the screen as text.
func (tm *term) capture() string {
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", tm.session).Output()
	if err != nil {
		return "capture-pane: " + err.Error()
	}
	return string(out)
}

// keys sends tmux key names ("Enter", "Escape", "Down", "C-c") or literal
// text (with -l when literal is true).
func (tm *term) keys(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		if out, err := exec.Command("tmux", "send-keys", "-t", tm.session, k).CombinedOutput(); err != nil {
			tm.t.Fatalf("tmux send-keys %q: %v\n%s", k, err, out)
		}
		time.Sleep(60 * time.Millisecond) // a person's pace; the HMI takes one key at a time anyway
	}
}

// typeText types text literally.
func (tm *term) typeText(text string) {
	tm.t.Helper()
	if out, err := exec.Command("tmux", "send-keys", "-t", tm.session, "-l", text).CombinedOutput(); err != nil {
		tm.t.Fatalf("tmux send-keys -l %q: %v\n%s", text, err, out)
	}
	time.Sleep(60 * time.Millisecond)
}

// waitFor waits until the screen shows every one of texts, and returns
// the screen; it fails the test after within.
func (tm *term) waitFor(within time.Duration, texts ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := tm.capture()
		ok := true
		for _, x := range texts {
			if !strings.Contains(s, x) {
				ok = false
				break
			}
		}
		if ok {
			tm.log = append(tm.log, s)
			return s
		}
		if strings.Contains(s, "EXITED ") {
			tm.t.Fatalf("pretreat exited while waiting for %q:\n%s", texts, s)
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("screen never showed %q within %s; last screen:\n%s", texts, within, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAny waits until the screen shows one of texts and returns which.
func (tm *term) waitAny(within time.Duration, texts ...string) (string, string) {
	tm.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := tm.capture()
		for _, x := range texts {
			if strings.Contains(s, x) {
				return x, s
			}
		}
		if strings.Contains(s, "EXITED ") {
			tm.t.Fatalf("pretreat exited while waiting for one of %q:\n%s", texts, s)
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("screen never showed one of %q within %s; last screen:\n%s", texts, within, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

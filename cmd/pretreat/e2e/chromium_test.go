package e2e

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium finds the Debian chromium (or another Chrome) for the report
// rendering tests; without one they skip, except in CI where .ci/run
// installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (.ci/run installs the Debian package chromium)")
	}
	t.Skip("chromium is not installed: apt-get install chromium")
	return ""
}

// consoleLine matches what headless Chromium logs for a console message
// of the page (with --enable-logging=stderr).
var consoleLine = regexp.MustCompile(`:CONSOLE[:(]\d*\)?\] (.*)`)

// rendered is what headless Chromium made of an HTML file.
type rendered struct {
	dom      string
	shot     image.Image
	shotPath string
	console  []string // the page's console messages
	log      string
}

// renderHTML loads file in headless Chromium offline and returns its DOM
// after load, a screenshot at width×height and the page's console
// messages. The screenshot is kept in dir for a person to look at.
func renderHTML(t *testing.T, file, dir string, width, height int) rendered {
	t.Helper()
	bin := chromium(t)
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))+".png")
	profile := t.TempDir()
	common := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + profile,
		// Offline: a self-contained report needs nothing from the network;
		// any request it tried would fail and show up as a console error.
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--enable-logging=stderr", "--v=0"}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := rendered{shotPath: shot}
	out, err := exec.CommandContext(ctx, bin, append(common, "--dump-dom", "file://"+abs)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	r.dom = string(out)
	cmd := exec.CommandContext(ctx, bin, append(common, "--screenshot="+shot, "--hide-scrollbars",
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "file://"+abs)...)
	log, err := cmd.CombinedOutput()
	r.log = string(log)
	if err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, log)
	}
	for _, m := range consoleLine.FindAllStringSubmatch(r.log, -1) {
		r.console = append(r.console, m[1])
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if r.shot, err = png.Decode(f); err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	return r
}

// inked is the fraction of the image's pixels that are not (near) the
// background colour of its top-left corner: 0 for a blank page.
func inked(img image.Image) float64 {
	b := img.Bounds()
	br, bg, bb, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	diff := func(a, c uint32) uint32 {
		if a > c {
			return a - c
		}
		return c - a
	}
	n, total := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if diff(r, br)+diff(g, bg)+diff(bl, bb) > 3*0x1000 {
				n++
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

package hmi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
)

// loginTimeout bounds one sign-in request.
const loginTimeout = 10 * time.Second

// startLogin signs in with Options.Login, or shows the sign-in form.
func (h *hmi) startLogin(ctx context.Context) {
	if l := h.opts.Login; l != nil {
		creds := *l
		h.setMessage("signing in…")
		h.spawn(ctx, func(ctx context.Context) { h.signIn(ctx, creds) })
		return
	}
	h.showLogin("sign in to send commands; the screens show the line meanwhile", "")
}

// showLogin shows the sign-in form with a note above the fields; user
// fills the user field (the password field then has the focus).
func (h *hmi) showLogin(note, user string) {
	f := h.login
	f.Clear(true)
	f.AddTextView("", note, 44, 2, true, false)
	f.AddInputField("User", user, 24, nil, nil)
	f.AddPasswordField("Password", "", 24, '*', nil)
	f.AddPasswordField("or token", "", 24, '*', nil)
	f.AddButton("Sign in", func() {
		get := func(label string) string {
			if in, ok := f.GetFormItemByLabel(label).(*tview.InputField); ok {
				return strings.TrimSpace(in.GetText())
			}
			return ""
		}
		creds := api.Login{User: get("User"), Password: get("Password"), Token: get("or token")}
		if creds.User == "" && creds.Token == "" {
			h.setMessage(paint(colorWarn, alarmMark+"sign in: a user name (with its password) or a token"))
			return
		}
		h.setMessage("signing in…")
		h.spawn(h.ctx, func(ctx context.Context) { h.signIn(ctx, creds) })
	})
	if user != "" {
		f.SetFocus(2)
	} else {
		f.SetFocus(1)
	}
	h.pages.ShowPage(pageLogin)
	h.app.SetFocus(f)
	h.setMode(modeLogin)
}

// signIn asks the controller for a session; it runs on a worker.
func (h *hmi) signIn(ctx context.Context, creds api.Login) {
	rctx, cancel := context.WithTimeout(ctx, loginTimeout)
	s, err := h.client.Login(rctx, creds)
	cancel()
	if ctx.Err() != nil {
		return
	}
	h.post(func() {
		if err != nil {
			h.session = nil
			h.locked = true
			h.showLogin(paint(colorWarn, alarmMark+"not signed in: "+esc(loginError(err))), creds.User)
			h.setMessage(paint(colorWarn, alarmMark+"not signed in: "+esc(loginError(err))))
			return
		}
		h.session = s
		h.locked = false
		h.lastKey = time.Now()
		if h.mode == modeLogin {
			h.closeDialog(pageLogin)
		}
		what := fmt.Sprintf("signed in as %s (%s)", esc(s.User), esc(s.Role))
		if s.Open {
			what += "; open mode: the controller has no users"
		}
		if s.Role == "viewer" {
			what += "; view only: commands are not offered"
		}
		h.setMessage(what)
		h.render()
		h.showKeys()
	})
}

// loginError says why a sign-in failed in operator's words.
func loginError(err error) string {
	if ae, ok := errors.AsType[*api.APIError](err); ok {
		switch ae.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			if ae.Message != "" {
				return ae.Message
			}
			return "wrong user, password or token"
		case http.StatusTooManyRequests:
			return "too many attempts: " + ae.Message
		case http.StatusNotFound:
			return "this controller offers no sign-in (too old)"
		}
		return ae.Error()
	}
	return shortError(err)
}

// lock ends the session on this screen and asks for a sign-in; the screens
// go on showing the line.
func (h *hmi) lock(why string) {
	if h.mode == modeLogin {
		return
	}
	if h.mode != modeOverview {
		// Close whatever dialog is open: it was for the user leaving.
		for _, p := range []string{pageRecipes, pageAbort, pageDelivery, pageHelp, pagePrompt} {
			h.pages.HidePage(p)
		}
		if h.mode == modeCommand {
			h.closeCommandLine()
		}
	}
	if s := h.session; s != nil {
		h.spawn(h.ctx, func(ctx context.Context) {
			rctx, cancel := context.WithTimeout(ctx, loginTimeout)
			defer cancel()
			_ = h.client.Logout(rctx)
		})
	}
	h.session = nil
	h.locked = true
	h.render()
	h.showLogin(esc(why), "")
	h.setMessage(esc(why))
}

// idleWatch locks the HMI after Options.IdleLock without a key.
func (h *hmi) idleWatch(ctx context.Context) {
	if h.opts.IdleLock < 0 {
		return
	}
	tick := time.NewTicker(min(h.opts.IdleLock/4, 5*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h.post(func() {
			if h.session != nil && !h.locked && time.Since(h.lastKey) >= h.opts.IdleLock {
				h.lock(fmt.Sprintf("locked after %s without a key: sign in again", h.opts.IdleLock))
			}
		})
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/adapters/web"
	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// The tests in this file drive the web client in Debian's chromium
// (MESSENGER_CHROMIUM, set by scripts/browser.sh): two browser contexts,
// alice and bob, each with its own storage, as two people would.

// browserWait bounds every wait for the page to show something.
const browserWait = 60 * time.Second

// password is what the browser tests' users sign up with.
const password = "correct horse battery"

// recorder runs in every page before the client: it notes each status a
// message of one's own shows (by clientMessageId), the connection states, and
// any breach of the Content-Security-Policy.
const recorder = `(() => {
  window.__ticks = {};
  window.__conn = [];
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  const note = (list, value) => { if (value && list[list.length - 1] !== value) list.push(value); };
  new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.type === 'attributes' ? [r.target] : r.addedNodes) {
        if (!(n instanceof Element)) continue;
        if (n.matches('li.msg.mine') && n.dataset.clientId) note(window.__ticks[n.dataset.clientId] ||= [], n.dataset.status);
        if (n.matches('.connection')) note(window.__conn, n.dataset.state);
      }
    }
  }).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-status', 'data-state']});
})();`

// startBrowser starts chromium for the test, or fails: under make test the
// browser is part of the test environment. Only -short leaves it out.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: needs chromium; skipped by -short")
	}
	path := os.Getenv("MESSENGER_CHROMIUM")
	if path == "" {
		t.Fatal("MESSENGER_CHROMIUM is not set: run `eval \"$(scripts/browser.sh)\"` (make test does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	require.NoError(t, chromedp.Do(ctx), "starting chromium at %s", path)
	return ctx
}

// page is one person's browser context with one tab.
type page struct {
	t    *testing.T
	name string
	ctx  context.Context
	base string

	mu       sync.Mutex
	problems []string // uncaught exceptions and dialogs
}

// newPage opens a tab in a browser context of its own (its own storage) on
// base. The test fails at its end if the page threw or opened a dialog.
func newPage(t *testing.T, browser context.Context, name, base string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &page{t: t, name: name, ctx: ctx, base: base}
	require.NoError(t, chromedp.Do(ctx))
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil {
				desc += " " + d.Exception.Description
			}
			p.problem("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, desc)
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type == "error" || ev.Type == "warning" {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				t.Logf("%s: console.%s: %s", name, ev.Type, strings.Join(args, " "))
			}
		case *cdppage.EventJavascriptDialogOpening:
			p.problem("a %s dialog opened: %q", ev.Type, ev.Message)
			go func() {
				_, _ = chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{})
			}()
		}
	}))
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)))
	_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: recorder})
	require.NoError(t, err)
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, problem := range p.problems {
			t.Errorf("%s: %s", name, problem)
		}
	})
	return p
}

func (p *page) problem(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// do runs actions within browserWait.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail(what, err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fail("evaluating "+expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func (p *page) waitFor(what, cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserWait)))
	if err != nil {
		p.fail("waiting for "+what, err)
	}
}

// fail ends the test with what the page shows, to tell why.
func (p *page) fail(what string, err error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText + '\n--- connection states: ' + JSON.stringify(window.__conn) +
		'\n--- messages: ' + JSON.stringify([...document.querySelectorAll('li.msg')].slice(-8).map((li) => [li.dataset.status, li.dataset.seq, li.querySelector('.text').textContent])) +
		'\n--- composer: ' + JSON.stringify(document.querySelector('#composer-input')?.value)`))
	p.t.Fatalf("%s: %s: %v\n--- the page shows ---\n%s", p.name, what, err, shown)
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// open navigates to a path of the client.
func (p *page) open(path string) {
	p.t.Helper()
	p.do("opening "+path, chromedp.Navigate(p.base+path))
}

// route follows an in-app link, as a click on it would.
func (p *page) route(hash string) {
	p.t.Helper()
	p.do("going to "+hash, chromedp.Evaluate[chromedp.Void](`location.hash = `+js(hash)))
}

// signedInAs waits for the shell of the signed-in client of name.
func (p *page) signedInAs(name string) {
	p.t.Helper()
	p.waitFor(name+" signed in", `document.querySelector('.bar .me')?.textContent === `+js(name))
}

// register signs up through the form and returns the new user's id.
func (p *page) register(first, email string) domain.UserID {
	p.t.Helper()
	p.open("/")
	p.waitFor("the sign-in form", `!!document.querySelector('form[aria-label="Sign in"]:not([hidden])')`)
	form := `form[aria-label="Create account"] `
	p.do("signing up",
		chromedp.Click(chromedp.CSS(`.auth-card button.link`)),
		chromedp.SendKeys(chromedp.CSS(form+`input[name=firstName]`), first),
		chromedp.SendKeys(chromedp.CSS(form+`input[name=lastName]`), "Tester"),
		chromedp.SendKeys(chromedp.CSS(form+`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(form+`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(form+`button[type=submit]`)),
	)
	p.signedInAs(first + " Tester")
	return p.userID()
}

// login signs in through the form.
func (p *page) login(name, email string) {
	p.t.Helper()
	p.open("/")
	form := `form[aria-label="Sign in"] `
	p.do("signing in",
		chromedp.SendKeys(chromedp.CSS(form+`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(form+`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(form+`button[type=submit]`)),
	)
	p.signedInAs(name)
}

func (p *page) userID() domain.UserID {
	p.t.Helper()
	return domain.UserID(eval[string](p, `JSON.parse(localStorage.getItem('messenger.session')).user.id`))
}

// texts are the messages the open chat shows, in order.
func (p *page) texts() []string {
	p.t.Helper()
	return eval[[]string](p, `[...document.querySelectorAll('.message-list li.msg .text')].map((e) => e.textContent)`)
}

// waitTexts waits until the open chat shows exactly want, in order.
func (p *page) waitTexts(what string, want []string) {
	p.t.Helper()
	b, _ := json.Marshal(want)
	cond := `JSON.stringify([...document.querySelectorAll('.message-list li.msg .text')].map((e) => e.textContent)) === JSON.stringify(` + string(b) + `)`
	ctx, cancel := context.WithTimeout(p.ctx, browserWait+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserWait)))
	if err != nil {
		got := p.texts()
		require.Equal(p.t, want, got, "%s: %s", p.name, what)
	}
}

// waitTextsEnd waits until the open chat's last messages are want.
func (p *page) waitTextsEnd(what string, want []string) {
	p.t.Helper()
	b, _ := json.Marshal(want)
	p.waitFor(what, `JSON.stringify([...document.querySelectorAll('.message-list li.msg .text')].map((e) => e.textContent).slice(-`+
		fmt.Sprint(len(want))+`)) === JSON.stringify(`+string(b)+`)`)
}

// say types text into the composer and sends it with the Send button.
// (Enter sends too, but the key events the browser is driven with insert
// the line break that a real key press's handled keydown suppresses.)
func (p *page) say(text string) {
	p.t.Helper()
	p.do("sending "+text,
		chromedp.WaitVisible(chromedp.CSS(`#composer-input`)),
		chromedp.SendKeys(chromedp.CSS(`#composer-input`), text),
		chromedp.Click(chromedp.CSS(`.composer button.send`)),
	)
	p.waitTextsEnd("the sent message shown", []string{text})
}

// tickLabels are the accessible names of the ticks.
var tickLabels = map[string]string{"pending": "Sending", "sent": "Sent", "delivered": "Delivered", "read": "Read", "failed": "Not sent"}

// waitTick waits until one's own message shows status, in its data and in
// the tick's accessible name.
func (p *page) waitTick(text, status string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%q to show %s", text, status),
		`[...document.querySelectorAll('li.msg.mine')].some((li) => li.querySelector('.text').textContent === `+js(text)+
			` && li.dataset.status === `+js(status)+` && li.querySelector('.tick').getAttribute('aria-label') === `+js(tickLabels[status])+`)`)
}

// ticks are the statuses one's own message showed, in order.
func (p *page) ticks(text string) []string {
	p.t.Helper()
	return eval[[]string](p, `(() => {
		const li = [...document.querySelectorAll('li.msg.mine')].find((li) => li.querySelector('.text').textContent === `+js(text)+`);
		return li ? (window.__ticks[li.dataset.clientId] || []) : [];
	})()`)
}

// waitUnread waits until the conversation with peer shows n unread (no
// badge for 0).
func (p *page) waitUnread(peer domain.UserID, n int) {
	p.t.Helper()
	badge := fmt.Sprint(n)
	if n == 0 {
		badge = ""
	}
	p.waitFor(fmt.Sprintf("%d unread from %s", n, peer),
		`(() => { const a = document.querySelector('a.conversation[href="#/chat/`+string(peer)+`"]');
		  return !!a && (a.querySelector('.badge')?.textContent || '') === `+js(badge)+`; })()`)
}

// typing waits until the open chat's header says whether the peer types.
func (p *page) waitTyping(on bool) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("typing=%v", on), `document.querySelector('.chat-status')?.dataset.typing === `+js(fmt.Sprint(on)))
}

// noCSPViolation checks the page broke none of its policy.
func (p *page) noCSPViolation() {
	p.t.Helper()
	require.Empty(p.t, eval[[]string](p, `window.__csp || []`), "%s: Content-Security-Policy violations", p.name)
}

// screenshot writes the viewport to docs/screenshots/name.png when
// MESSENGER_SCREENSHOTS=1 (make screenshots).
func (p *page) screenshot(name string) {
	p.t.Helper()
	if os.Getenv("MESSENGER_SCREENSHOTS") != "1" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	// No focus ring or caret in the pictures.
	require.NoError(p.t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement?.blur()`)))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(p.t, err)
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "docs", "screenshots")
	require.NoError(p.t, os.MkdirAll(dir, 0o755))
	require.NoError(p.t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

func uniqueEmail(first string) string {
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	return fmt.Sprintf("%s.web.%d.%d@example.com", strings.ToLower(first), n, time.Now().UnixNano())
}

// browserScenario is what two people do with the client: sign up, become
// friends, chat, read, leave and come back. alice and bob may be on
// different nodes.
func browserScenario(t *testing.T, alice, bob *page, screenshots bool) {
	aliceEmail, bobEmail := uniqueEmail("alice"), uniqueEmail("bob")
	aliceID := alice.register("Alice", aliceEmail)
	bobID := bob.register("Bob", bobEmail)

	// Friends: alice finds bob and asks; bob accepts from his requests.
	alice.route("#/friends")
	alice.do("searching for bob",
		chromedp.SendKeys(chromedp.CSS(`#friend-search`), bobEmail+"\r"),
		chromedp.Click(chromedp.CSS(`ul[aria-label="Search results"] li[data-user="`+string(bobID)+`"] button`)),
	)
	alice.waitFor("the request noted", `document.querySelector('ul[aria-label="Search results"]').textContent.includes('Request sent')`)
	bob.waitFor("the friends badge", `document.querySelector('.tabs a[data-tab=friends] .badge')?.textContent === '1'`)
	bob.route("#/friends")
	bob.do("accepting alice",
		chromedp.Click(chromedp.CSS(`ul[aria-label="Friend requests"] li[data-user="`+string(aliceID)+`"] button.primary`)))
	bob.waitFor("alice among bob's friends", `!!document.querySelector('ul[aria-label="Friends"] li[data-user="`+string(aliceID)+`"]')`)
	alice.waitFor("bob among alice's friends", `!!document.querySelector('ul[aria-label="Friends"] li[data-user="`+string(bobID)+`"]')`)

	// A history longer than a page, sent through the API while bob is
	// elsewhere: bob's list counts it unread.
	api, _, err := client.New(alice.base, nil).Login(context.Background(), aliceEmail, password)
	require.NoError(t, err)
	const older = 45
	var history []string
	for i := 1; i <= older; i++ {
		text := fmt.Sprintf("history %d", i)
		history = append(history, text)
		_, err := api.Send(context.Background(), client.SendRequest{ReceiverID: bobID, Message: text})
		require.NoError(t, err)
	}
	bob.route("#/")
	bob.waitUnread(aliceID, older)
	alice.waitUnread(bobID, 0)
	if screenshots {
		bob.route("#/friends")
		bob.waitFor("bob's friends", `!!document.querySelector('ul[aria-label="Friends"] li[data-user="`+string(aliceID)+`"]') && !document.querySelector('.toast')`)
		bob.screenshot("friends")
	}

	// alice opens the chat from her friends list; bob opens it from his
	// conversations, reads, and scrolls up to the start.
	alice.route("#/friends")
	alice.do("opening the chat with bob",
		chromedp.Click(chromedp.CSS(`ul[aria-label="Friends"] li[data-user="`+string(bobID)+`"] a.button`)))
	alice.waitTextsEnd("alice's history", history[older-5:])
	bob.do("opening the chat with alice", chromedp.Click(chromedp.CSS(`a.conversation[href="#/chat/`+string(aliceID)+`"]`)))
	bob.waitTextsEnd("bob's newest page", history[older-5:])
	require.Less(t, len(bob.texts()), older, "bob's first page holds the whole history")
	bob.waitUnread(aliceID, 0)
	alice.waitTick(history[older-1], "read")
	for len(bob.texts()) < older {
		n := len(bob.texts())
		bob.do("scrolling up", chromedp.Evaluate[chromedp.Void](`document.querySelector('.messages').scrollTop = 0`))
		bob.waitFor("an older page", `document.querySelectorAll('.message-list li.msg').length > `+fmt.Sprint(n))
	}
	bob.waitTexts("bob's whole history, in order, once", history)

	// A live exchange, with typing both ways.
	alice.do("alice types", chromedp.SendKeys(chromedp.CSS(`#composer-input`), "Hello B"))
	bob.waitTyping(true)
	alice.do("alice finishes typing", chromedp.SendKeys(chromedp.CSS(`#composer-input`), "ob"), chromedp.Click(chromedp.CSS(`.composer button.send`)))
	bob.waitTyping(false)
	alice.waitTextsEnd("alice's message", []string{"Hello Bob"})
	bob.waitTextsEnd("alice's message at bob", []string{"Hello Bob"})
	alice.waitTick("Hello Bob", "read")
	got := alice.ticks("Hello Bob")
	require.Equal(t, "pending", got[0], "ticks of Hello Bob: %v", got)
	require.Equal(t, "read", got[len(got)-1], "ticks of Hello Bob: %v", got)
	requireOrdered(t, got)

	bob.do("bob types", chromedp.SendKeys(chromedp.CSS(`#composer-input`), "Hi Al"))
	alice.waitTyping(true)
	bob.do("bob finishes typing", chromedp.SendKeys(chromedp.CSS(`#composer-input`), "ice"), chromedp.Click(chromedp.CSS(`.composer button.send`)))
	alice.waitTyping(false)
	alice.say("How are you?")
	bob.say("Fine, thanks")
	alice.say("<img src=x onerror=alert(1)>")
	live := []string{"Hello Bob", "Hi Alice", "How are you?", "Fine, thanks", "<img src=x onerror=alert(1)>"}
	alice.waitTextsEnd("alice's chat", live)
	requireUnique(t, alice.texts())
	bob.waitTexts("bob's chat", append(append([]string{}, history...), live...))
	// The markup arrived as text: no element was made of it.
	for _, p := range []*page{alice, bob} {
		require.Zero(t, eval[int](p, `document.querySelectorAll('.message-list img').length`), p.name)
	}

	// bob leaves the chat: new messages count as unread until he returns.
	bob.route("#/")
	alice.say("Two more")
	alice.say("messages")
	bob.waitUnread(aliceID, 2)
	bob.route("#/chat/" + string(aliceID))
	bob.waitTextsEnd("the two messages", []string{"Two more", "messages"})
	bob.waitUnread(aliceID, 0)

	// bob goes away: alice's message stays "sent" until his client is back
	// (a reload that keeps the session), then "delivered", then "read" when
	// he opens the chat.
	bob.open("/app/icon.svg")
	alice.say("While you were away")
	alice.waitTick("While you were away", "sent")
	bob.open("/")
	bob.signedInAs("Bob Tester")
	bob.waitUnread(aliceID, 1)
	alice.waitTick("While you were away", "delivered")
	if screenshots {
		alice.screenshot("conversation")
	}
	bob.do("opening the chat again", chromedp.Click(chromedp.CSS(`a.conversation[href="#/chat/`+string(aliceID)+`"]`)))
	bob.waitTextsEnd("the message from while away", []string{"While you were away"})
	alice.waitTick("While you were away", "read")
	require.Equal(t, []string{"pending", "sent", "delivered", "read"}, alice.ticks("While you were away"))

	// A reload keeps the session and the chat.
	alice.do("reloading", chromedp.Reload())
	alice.signedInAs("Alice Tester")
	alice.waitTextsEnd("alice's chat after the reload", []string{"While you were away"})
	alice.waitTick("While you were away", "read")

	if screenshots {
		alice.do("a phone's width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		alice.waitFor("the phone layout, at the newest message", `getComputedStyle(document.querySelector('.sidebar')).display === 'none' &&
			(() => { const m = document.querySelector('.messages'); return m.scrollHeight - m.scrollTop - m.clientHeight < 2; })()`)
		alice.waitTick("While you were away", "read")
		alice.screenshot("phone")
		alice.route("#/")
		alice.waitFor("the list on a phone", `getComputedStyle(document.querySelector('.main')).display === 'none'`)
		alice.do("a desktop's width", chromedp.EmulateViewport(1280, 800))
	}
	alice.noCSPViolation()
	bob.noCSPViolation()
}

func requireUnique(t *testing.T, texts []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range texts {
		require.False(t, seen[s], "%q shown twice in %v", s, texts)
		seen[s] = true
	}
}

// requireOrdered checks that ticks only ever moved forward.
func requireOrdered(t *testing.T, ticks []string) {
	t.Helper()
	rank := map[string]int{"pending": 0, "sent": 1, "delivered": 2, "read": 3}
	for i := 1; i < len(ticks); i++ {
		require.Greater(t, rank[ticks[i]], rank[ticks[i-1]], "ticks went backwards: %v", ticks)
	}
}

// TestBrowserChatEmbedded runs the scenario on the embedded default.
func TestBrowserChatEmbedded(t *testing.T) {
	browser := startBrowser(t)
	base := startServer(t, map[string]string{"MESSENGER_SEND_RATE_LIMIT": "0"})
	alice := newPage(t, browser, "alice", base)
	bob := newPage(t, browser, "bob", base)
	browserScenario(t, alice, bob, true)
}

// TestBrowserChatTwoNodes runs the scenario with alice on one node of the
// real stack and bob on another.
func TestBrowserChatTwoNodes(t *testing.T) {
	browser := startBrowser(t)
	s := newStack(t)
	n1 := s.start(t, "node-1")
	n2 := s.start(t, "node-2")
	alice := newPage(t, browser, "alice", n1.base)
	bob := newPage(t, browser, "bob", n2.base)
	browserScenario(t, alice, bob, false)
}

// twoFriends starts the browser and the embedded default with env, and makes
// alice and bob friends through the API.
func twoFriends(t *testing.T, env map[string]string) (browser context.Context, base string, alice, bob *user) {
	t.Helper()
	browser = startBrowser(t)
	base = startServer(t, env)
	alice = register(t, base, "Alice")
	bob = register(t, base, "Bob")
	befriend(t, alice, bob)
	return browser, base, alice, bob
}

// TestBrowserReconnect cuts bob's connections (the server side of his
// socket closes) while alice keeps sending: bob's client reconnects, resumes,
// and shows every message once, in order.
func TestBrowserReconnect(t *testing.T) {
	browser, base, alice, bobAPI := twoFriends(t, map[string]string{"MESSENGER_SEND_RATE_LIMIT": "0"})
	proxy := newCutProxy(t, strings.TrimPrefix(base, "http://"))
	bob := newPage(t, browser, "bob", "http://"+proxy.addr())
	bob.login("Bob Tester", bobAPI.email)
	bob.route("#/chat/" + string(alice.id))
	bob.waitFor("the chat", `!!document.querySelector('#composer-input')`)
	bob.waitFor("the live connection", `document.querySelector('.connection').dataset.state === 'online'`)

	var want []string
	send := func(from, to int) {
		for i := from; i <= to; i++ {
			text := fmt.Sprintf("message %d", i)
			want = append(want, text)
			_, err := alice.Send(context.Background(), client.SendRequest{ReceiverID: bobAPI.id, Message: text})
			require.NoError(t, err)
		}
	}
	send(1, 10)
	bob.waitTextsEnd("the first messages", want[len(want)-1:])
	for round := 1; round <= 2; round++ {
		require.Positive(t, proxy.cut(), "no connection to cut")
		send(len(want)+1, len(want)+10)
		bob.waitFor("the client reconnected", fmt.Sprintf(
			`window.__conn.filter((s) => s === 'reconnecting').length === %d && window.__conn[window.__conn.length - 1] === 'online'`, round))
	}
	send(len(want)+1, len(want)+5)
	bob.waitTexts("every message once, in order", want)
	bob.waitFor("the live connection", `document.querySelector('.connection').dataset.state === 'online'`)
	conn := eval[[]string](bob, `window.__conn`)
	require.Contains(t, conn, "reconnecting")
	require.Equal(t, "online", conn[len(conn)-1])

	// With the server out of reach a send fails and is offered again; the
	// retry reuses its clientMessageId, and the server stores it once.
	proxy.down(t)
	bob.say("sent twice, stored once")
	bob.waitTick("sent twice, stored once", "failed")
	clientID := eval[string](bob, `document.querySelector('li.msg.mine:last-child').dataset.clientId`)
	proxy.up(t)
	bob.do("retrying", chromedp.Click(chromedp.CSS(`li.msg.mine:last-child button.retry`)))
	bob.waitTick("sent twice, stored once", "sent") // alice has no device online to deliver to
	require.Equal(t, clientID, eval[string](bob, `document.querySelector('li.msg.mine:last-child').dataset.clientId`))
	msgs, _, err := alice.History(context.Background(), string(bobAPI.id), domain.Page{Limit: 5})
	require.NoError(t, err)
	last := msgs[len(msgs)-1]
	require.Equal(t, "sent twice, stored once", last.Text)
	require.Equal(t, clientID, last.ClientMessageID)
	require.Equal(t, want[len(want)-1], msgs[len(msgs)-2].Text, "the retried message was stored twice")
	bob.waitFor("the sequence of the retried message", `document.querySelector('li.msg.mine:last-child').dataset.seq !== ''`)
	require.Equal(t, []string{"pending", "failed", "pending", "sent"}, bob.ticks("sent twice, stored once"))
	bob.noCSPViolation()
}

// TestBrowserTokenRenewal keeps a client open past several access token
// lifetimes: it renews the token before it expires, reopens its socket when
// the server closes it with 4001, and stays signed in and live.
func TestBrowserTokenRenewal(t *testing.T) {
	const ttl = 6 * time.Second
	browser, base, alice, bobAPI := twoFriends(t, map[string]string{"MESSENGER_ACCESS_TOKEN_TTL": ttl.String(), "MESSENGER_REFRESH_REUSE_GRACE": "5s"})
	bob := newPage(t, browser, "bob", base)
	bob.login("Bob Tester", bobAPI.email)
	bob.route("#/chat/" + string(alice.id))
	first := eval[string](bob, `localStorage.getItem('messenger.session')`)

	// The socket opened with the first token is closed when it expires.
	bob.waitFor("a socket closed and reopened", `window.__conn.includes('reconnecting') && window.__conn[window.__conn.length - 1] === 'online'`)
	require.NotEqual(t, first, eval[string](bob, `localStorage.getItem('messenger.session')`), "the refresh token was not rotated")
	sender, _, err := client.New(base, nil).Login(context.Background(), alice.email, password) // alice's first token expired too
	require.NoError(t, err)
	_, err = sender.Send(context.Background(), client.SendRequest{ReceiverID: bobAPI.id, Message: "still here?"})
	require.NoError(t, err)
	bob.waitTextsEnd("a message after the renewal", []string{"still here?"})
	bob.signedInAs("Bob Tester")
}

// TestBrowserXSS sends markup as a message: both sides show the characters,
// and no script runs (a dialog would fail the test).
func TestBrowserXSS(t *testing.T) {
	browser, base, alice, bobAPI := twoFriends(t, nil)
	bob := newPage(t, browser, "bob", base)
	bob.login("Bob Tester", bobAPI.email)
	const attack = `<img src=x onerror=alert(1)><script>alert(2)</script>`
	_, err := alice.Send(context.Background(), client.SendRequest{ReceiverID: bobAPI.id, Message: attack})
	require.NoError(t, err)
	bob.waitFor("the preview", `document.querySelector('.conversation .preview')?.textContent === `+js(attack))
	bob.route("#/chat/" + string(alice.id))
	bob.waitTexts("the markup shown as text", []string{attack})
	bob.say(attack)
	require.Zero(t, eval[int](bob, `document.querySelectorAll('#app img:not([src="/app/icon.svg"]), #app script').length`))
	bob.noCSPViolation()
}

// TestBrowserBlockAndSignOut blocks and unblocks a friend from the friends
// screen, shows the refused send, and signs out for good.
func TestBrowserBlockAndSignOut(t *testing.T) {
	browser, base, aliceAPI, bobAPI := twoFriends(t, nil)
	alice := newPage(t, browser, "alice", base)
	bob := newPage(t, browser, "bob", base)
	alice.login("Alice Tester", aliceAPI.email)
	bob.login("Bob Tester", bobAPI.email)

	alice.route("#/friends")
	friend := `ul[aria-label="Friends"] li[data-user="` + string(bobAPI.id) + `"]`
	blocked := `ul[aria-label="Blocked people"] li[data-user="` + string(bobAPI.id) + `"]`
	alice.do("blocking bob", chromedp.Click(chromedp.CSS(friend+` button.danger`)))
	alice.waitFor("bob blocked", `!document.querySelector('`+friend+`') && !!document.querySelector('`+blocked+`')`)

	bob.route("#/chat/" + string(aliceAPI.id))
	bob.say("can you hear me?")
	bob.waitTick("can you hear me?", "failed")
	bob.waitFor("the reason", `document.querySelector('li.msg.mine:last-child .failure').textContent.includes('blocked')`)

	alice.do("unblocking bob", chromedp.Click(chromedp.CSS(blocked+` button`)))
	alice.waitFor("the block lifted", `!document.querySelector('`+blocked+`')`)
	alice.do("reloading", chromedp.Reload())
	alice.signedInAs("Alice Tester")
	alice.route("#/friends")
	alice.waitFor("the friends screen", `!!document.querySelector('#friend-search')`)
	require.Zero(t, eval[int](alice, `document.querySelectorAll('ul[aria-label="Blocked people"] li').length`))

	bob.do("signing out", chromedp.Click(chromedp.CSS(`.bar button.link`)))
	bob.waitFor("the sign-in form", `!!document.querySelector('form[aria-label="Sign in"]:not([hidden])')`)
	require.True(t, eval[bool](bob, `localStorage.getItem('messenger.session') === null`))
	bob.do("reloading", chromedp.Reload())
	bob.waitFor("the sign-in form after a reload", `!!document.querySelector('form[aria-label="Sign in"]:not([hidden])')`)
	require.Empty(t, eval[string](bob, `document.querySelector('.form-error').textContent`))
	bob.noCSPViolation()
	alice.noCSPViolation()
}

// TestWebClientMount checks the node serves the client at / beside the API,
// with its headers, and not when turned off.
func TestWebClientMount(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		t.Run(fmt.Sprintf("disabled=%v", disabled), func(t *testing.T) {
			m, err := messenger.New(messenger.Config{DisableWebClient: disabled})
			require.NoError(t, err)
			t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
			srv := newHTTPServer(t, m.Handler())

			resp, err := http.Get(srv + "/")
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if disabled {
				require.Equal(t, http.StatusNotFound, resp.StatusCode)
				require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
			} else {
				require.Equal(t, http.StatusOK, resp.StatusCode)
				require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
				require.Equal(t, web.ContentSecurityPolicy, resp.Header.Get("Content-Security-Policy"))
				require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
				require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
				require.Contains(t, string(body), `src="/app/main.js"`)
			}
			// The API keeps its routes, its JSON 404 and its 405s.
			for path, status := range map[string]int{"/healthz": 200, "/nope": 404, "/messages/conversations": 401} {
				resp, err := http.Get(srv + path)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, status, resp.StatusCode, path)
				require.Contains(t, resp.Header.Get("Content-Type"), "application/json", path)
			}
			resp, err = http.Post(srv+"/auth/login", "text/plain", strings.NewReader("{}"))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		})
	}
}

func newHTTPServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// cutProxy forwards TCP connections to a server and can cut them all at
// once, which a browser sees as the server closing its socket.
type cutProxy struct {
	address string
	target  string
	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, address: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve(ln)
	t.Cleanup(func() {
		_ = p.listener().Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.address }

// down stops accepting and cuts every connection: the server is out of reach.
func (p *cutProxy) down(t *testing.T) {
	t.Helper()
	require.NoError(t, p.listener().Close())
	p.cut()
}

// up accepts again, on the same address.
func (p *cutProxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.address)
	require.NoError(t, err)
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go p.serve(ln)
}

func (p *cutProxy) listener() net.Listener {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ln
}

func (p *cutProxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	defer p.wg.Done()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.track(c, up)
	defer p.untrack(c, up)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, c)
		_ = up.Close()
		close(done)
	}()
	_, _ = io.Copy(c, up)
	_ = c.Close()
	<-done
}

func (p *cutProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

func (p *cutProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// cut closes every open connection and returns how many it closed.
func (p *cutProxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	for c := range p.conns {
		_ = c.Close()
	}
	return n
}

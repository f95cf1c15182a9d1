package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
)

// adminToken is the admin token of these tests.
const adminToken = "correct horse battery staple"

// AddFeed adds a feed to the store, as cmd's catalog does.
func (c *testCatalog) AddFeed(ctx context.Context, url string) (store.Feed, bool, error) {
	if err := c.fail["AddFeed"]; err != nil {
		return store.Feed{}, false, err
	}
	return c.store.CreateFeed(ctx, url)
}

// RemoveFeed deletes a feed from the store, as cmd's catalog does (which
// also stops seeding the feed's torrents).
func (c *testCatalog) RemoveFeed(ctx context.Context, id int64) error {
	if err := c.fail["RemoveFeed"]; err != nil {
		return err
	}
	return c.store.DeleteFeed(ctx, id)
}

// adminClock is a clock the test moves, for session expiry.
type adminClock struct{ ns atomic.Int64 }

func newAdminClock(t time.Time) *adminClock {
	c := &adminClock{}
	c.set(t)
	return c
}

func (c *adminClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *adminClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// adminEnv is a server with admin actions over a populated store.
type adminEnv struct {
	srv *httptest.Server
	// client does not follow redirects, so tests see the 303s.
	client *http.Client
	fx     fixture
	cat    *testCatalog
	clock  *adminClock
	logs   *lockedBuffer
	base   string
}

// mustServeAdmin serves a populated store with token as admin token ("":
// admin actions disabled) and publicBase as base URL.
func mustServeAdmin(t *testing.T, token string) *adminEnv {
	t.Helper()
	return mustServeAdminAt(t, token, publicBase, false)
}

// mustServeAdminAt is mustServeAdmin with base as base URL, over TLS if
// useTLS.
func mustServeAdminAt(t *testing.T, token, base string, useTLS bool) *adminEnv {
	t.Helper()
	fx := mustPopulate(t, mustOpenStore(t))
	cat := newTestCatalog(fx)
	cat.urls = web.URLs{Base: base}
	e := &adminEnv{fx: fx, cat: cat, clock: newAdminClock(sampleNow), logs: &lockedBuffer{}, base: base}
	var opts []web.Option
	if token != "" {
		opts = append(opts, web.WithAdminToken(token))
	}
	opts = append(opts, web.WithClock(e.clock.now))
	h := mustNewHandler(t, cat, swarmCounts(fx), e.logs, opts...)
	e.srv = httptest.NewUnstartedServer(h)
	if useTLS {
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	t.Cleanup(e.srv.Close)
	e.client = &http.Client{
		Transport:     e.srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return e
}

// do sends method path with form as an url-encoded body (none if nil),
// header and cookies, and returns the response with its whole body.
func (e *adminEnv) do(t *testing.T, method, path string, form url.Values, header http.Header, cookies ...*http.Cookie) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// mustLogin logs in with the admin token and returns the session cookie.
func (e *adminEnv) mustLogin(t *testing.T) *http.Cookie {
	t.Helper()
	resp, body := e.do(t, http.MethodPost, "/admin/login", url.Values{"token": {adminToken}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: got status %d, want 303; body:\n%s", resp.StatusCode, body)
	}
	c := findSessionCookie(resp)
	if c == nil {
		t.Fatalf("login set no session cookie: %q", resp.Header.Values("Set-Cookie"))
	}
	return c
}

// mustGetAdminPage GETs path with cookies, expects a well-formed,
// escaped page and parses it.
func (e *adminEnv) mustGetAdminPage(t *testing.T, path string, cookies ...*http.Cookie) (*http.Response, *html.Node, []byte) {
	t.Helper()
	resp, page := e.do(t, http.MethodGet, path, nil, nil, cookies...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got status %d, want 200; body:\n%s", path, resp.StatusCode, page)
	}
	checkWellFormed(t, page)
	checkEscaped(t, page)
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return resp, doc, page
}

// findSessionCookie returns the session cookie resp sets, or nil.
func findSessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "podseed_admin" {
			return c
		}
	}
	return nil
}

// formByID returns the form with the given id, nil if there is none.
func formByID(doc *html.Node, id string) *html.Node {
	for _, f := range find(doc, atom.Form) {
		if attr(f, "id") == id {
			return f
		}
	}
	return nil
}

// mustForm returns the path (action without the base URL) and CSRF token
// of the form with the given id.
func (e *adminEnv) mustForm(t *testing.T, doc *html.Node, id string) (path, csrf string) {
	t.Helper()
	f := formByID(doc, id)
	if f == nil {
		t.Fatalf("no form %q", id)
	}
	if m := attr(f, "method"); m != "post" {
		t.Errorf("form %q: method %q, want post", id, m)
	}
	action := attr(f, "action")
	path, ok := strings.CutPrefix(action, e.base)
	if !ok {
		t.Fatalf("form %q: action %q is not under %s", id, action, e.base)
	}
	for _, in := range find(f, atom.Input) {
		if attr(in, "name") == "csrf" && attr(in, "type") == "hidden" {
			csrf = attr(in, "value")
		}
	}
	if csrf == "" {
		t.Fatalf("form %q has no hidden csrf field", id)
	}
	return path, csrf
}

// countFeeds returns how many feeds the store has.
func countFeeds(t *testing.T, st *store.Store) int {
	t.Helper()
	feeds, err := st.ListFeeds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(feeds)
}

// checkNoSecrets fails the test if the logs show the token or a session.
func (e *adminEnv) checkNoSecrets(t *testing.T, cookies ...*http.Cookie) {
	t.Helper()
	logs := e.logs.String()
	if strings.Contains(logs, adminToken) {
		t.Errorf("logs show the admin token:\n%s", logs)
	}
	for _, c := range cookies {
		if _, sig, _ := strings.Cut(c.Value, "."); sig != "" && strings.Contains(logs, sig) {
			t.Errorf("logs show a session:\n%s", logs)
		}
	}
}

func TestAdminDisabled(t *testing.T) {
	e := mustServeAdmin(t, "")
	nightShift := strconv.FormatInt(e.fx.nightShift.ID, 10)

	for _, path := range []string{"/", "/feeds/" + nightShift} {
		t.Run("page "+path, func(t *testing.T) {
			_, doc, page := e.mustGetAdminPage(t, path)
			if n := len(find(doc, atom.Form)); n != 0 {
				t.Errorf("got %d forms, want none", n)
			}
			if bytes.Contains(page, []byte("/admin/")) {
				t.Errorf("page links to admin actions:\n%s", page)
			}
		})
	}

	bearer := http.Header{"Authorization": {"Bearer " + adminToken}}
	for _, tt := range []struct {
		name, method, path string
		form               url.Values
		header             http.Header
	}{
		{"add feed", http.MethodPost, "/admin/feeds", url.Values{"url": {"https://feeds.example.com/new.xml"}}, bearer},
		{"add feed without auth", http.MethodPost, "/admin/feeds", url.Values{"url": {"https://feeds.example.com/new.xml"}}, nil},
		{"remove feed", http.MethodPost, "/admin/feeds/" + nightShift + "/delete", url.Values{}, bearer},
		{"login form", http.MethodGet, "/admin/login", nil, nil},
		{"login", http.MethodPost, "/admin/login", url.Values{"token": {adminToken}}, nil},
		// An empty token must not match the empty (unset) one.
		{"login with empty token", http.MethodPost, "/admin/login", url.Values{"token": {""}}, nil},
		{"logout", http.MethodPost, "/admin/logout", url.Values{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, tt.method, tt.path, tt.form, tt.header)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("got status %d, want 403; body:\n%s", resp.StatusCode, body)
			}
			if !bytes.Contains(body, []byte("admin actions are disabled")) || !bytes.Contains(body, []byte("--admin-token")) {
				t.Errorf("body does not say why: %q", body)
			}
			if c := findSessionCookie(resp); c != nil {
				t.Errorf("got a session cookie %v", c)
			}
		})
	}
	if got, want := countFeeds(t, e.fx.store), 2; got != want {
		t.Errorf("store has %d feeds, want %d", got, want)
	}
}

func TestAdminBearer(t *testing.T) {
	e := mustServeAdmin(t, adminToken)
	ctx := context.Background()
	st := e.fx.store
	nightShift := strconv.FormatInt(e.fx.nightShift.ID, 10)
	const newFeed = "https://feeds.example.com/new.xml"
	bearer := http.Header{"Authorization": {"Bearer " + adminToken}}
	feedExists := func(u string, want bool) func(t *testing.T) {
		return func(t *testing.T) {
			_, err := st.FindFeedByURL(ctx, u)
			if got := err == nil; got != want {
				t.Errorf("feed %q in store: got %v (err %v), want %v", u, got, err, want)
			}
		}
	}
	feedCount := func(want int) func(t *testing.T) {
		return func(t *testing.T) {
			if got := countFeeds(t, st); got != want {
				t.Errorf("store has %d feeds, want %d", got, want)
			}
		}
	}

	// Steps run in order against one store.
	for _, tt := range []struct {
		name       string
		method     string // POST if empty
		path       string
		form       url.Values
		header     http.Header
		wantStatus int
		wantBody   string // exact body, if not ""
		wantSub    string // substring of the body, if not ""
		check      func(t *testing.T)
	}{
		{name: "add without auth", path: "/admin/feeds", form: url.Values{"url": {newFeed}},
			wantStatus: 401, wantSub: "/admin/login", check: feedExists(newFeed, false)},
		{name: "add with wrong token", path: "/admin/feeds", form: url.Values{"url": {newFeed}},
			header: http.Header{"Authorization": {"Bearer " + adminToken + "x"}}, wantStatus: 401, check: feedExists(newFeed, false)},
		{name: "add with token prefix", path: "/admin/feeds", form: url.Values{"url": {newFeed}},
			header: http.Header{"Authorization": {"Bearer " + adminToken[:5]}}, wantStatus: 401, check: feedExists(newFeed, false)},
		{name: "add with empty bearer", path: "/admin/feeds", form: url.Values{"url": {newFeed}},
			header: http.Header{"Authorization": {"Bearer "}}, wantStatus: 401},
		{name: "add with basic auth", path: "/admin/feeds", form: url.Values{"url": {newFeed}},
			header: http.Header{"Authorization": {"Basic " + adminToken}}, wantStatus: 401, check: feedExists(newFeed, false)},
		{name: "add from a foreign origin", path: "/admin/feeds", form: url.Values{"url": {newFeed}},
			header:     http.Header{"Authorization": bearer["Authorization"], "Origin": {"https://evil.example"}},
			wantStatus: 403, check: feedExists(newFeed, false)},
		{name: "add", path: "/admin/feeds", form: url.Values{"url": {newFeed}}, header: bearer,
			wantStatus: 200, wantBody: fmt.Sprintf("added feed %d %s\n", e.fx.broken.ID+1, newFeed), check: feedExists(newFeed, true)},
		// Scheme names are case-insensitive; the URL is trimmed.
		{name: "add again", path: "/admin/feeds", form: url.Values{"url": {"  " + newFeed + "\n"}},
			header:     http.Header{"Authorization": {"bearer " + adminToken}},
			wantStatus: 200, wantBody: fmt.Sprintf("feed %d %s already exists\n", e.fx.broken.ID+1, newFeed), check: feedCount(3)},
		{name: "add http", path: "/admin/feeds", form: url.Values{"url": {"http://127.0.0.1:8081/feed.xml?token=1"}}, header: bearer,
			wantStatus: 200, check: feedExists("http://127.0.0.1:8081/feed.xml?token=1", true)},

		{name: "remove without auth", path: "/admin/feeds/" + nightShift + "/delete", wantStatus: 401, check: feedCount(4)},
		{name: "remove with wrong token", path: "/admin/feeds/" + nightShift + "/delete",
			header: http.Header{"Authorization": {"Bearer nope"}}, wantStatus: 401, check: feedCount(4)},
		{name: "remove", path: "/admin/feeds/" + nightShift + "/delete", header: bearer,
			wantStatus: 200, wantBody: "removed feed " + nightShift + "\n", check: func(t *testing.T) {
				if _, err := st.FindFeedByID(ctx, e.fx.nightShift.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("find removed feed: got err %v, want ErrNotFound", err)
				}
				if _, err := st.FindEpisodeByID(ctx, e.fx.ep3.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("find removed feed's episode: got err %v, want ErrNotFound", err)
				}
				if _, err := st.FindTorrentByInfoHash(ctx, e.fx.ready); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("find removed feed's torrent: got err %v, want ErrNotFound", err)
				}
				feedCount(3)(t)
			}},
		{name: "remove again", path: "/admin/feeds/" + nightShift + "/delete", header: bearer, wantStatus: 404, wantBody: "not found\n"},
		{name: "remove unknown", path: "/admin/feeds/99/delete", header: bearer, wantStatus: 404},
		{name: "remove bad id", path: "/admin/feeds/abc/delete", header: bearer, wantStatus: 400, check: feedCount(3)},
		{name: "remove id zero", path: "/admin/feeds/0/delete", header: bearer, wantStatus: 400},
		{name: "remove with GET", method: http.MethodGet, path: "/admin/feeds/" + nightShift + "/delete", header: bearer, wantStatus: 405},
		{name: "add with GET", method: http.MethodGet, path: "/admin/feeds?url=" + url.QueryEscape(newFeed), header: bearer, wantStatus: 405},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			form := tt.form
			if form == nil && method == http.MethodPost {
				form = url.Values{}
			}
			resp, body := e.do(t, method, tt.path, form, tt.header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got status %d, want %d; body:\n%s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate: got %q, want a Bearer challenge", resp.Header.Get("WWW-Authenticate"))
			}
			if tt.wantBody != "" && string(body) != tt.wantBody {
				t.Errorf("body: got %q, want %q", body, tt.wantBody)
			}
			if tt.wantSub != "" && !bytes.Contains(body, []byte(tt.wantSub)) {
				t.Errorf("body lacks %q: %q", tt.wantSub, body)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}

	t.Run("invalid URL", func(t *testing.T) {
		before := countFeeds(t, st)
		for _, u := range []string{
			"", "   ", "feeds.example.com/show.xml", "/show.xml", "//feeds.example.com/show.xml",
			"ftp://feeds.example.com/show.xml", "file:///etc/passwd", "javascript:alert(1)",
			"mailto:feeds@example.com", "http://", "https:///show.xml", "http:feeds.example.com",
			"https://feeds.example.com/\x7f", "https://feeds.example.com/" + strings.Repeat("a", 3000),
		} {
			resp, body := e.do(t, http.MethodPost, "/admin/feeds", url.Values{"url": {u}}, bearer)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("url %q: got status %d, want 400; body: %q", u, resp.StatusCode, body)
			} else if !bytes.Contains(body, []byte("feed URL")) {
				t.Errorf("url %q: body does not say what was wrong: %q", u, body)
			}
		}
		if resp, body := e.do(t, http.MethodPost, "/admin/feeds", url.Values{}, bearer); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("no url field: got status %d, want 400; body: %q", resp.StatusCode, body)
		}
		if got := countFeeds(t, st); got != before {
			t.Errorf("store has %d feeds, want %d", got, before)
		}
	})

	t.Run("catalog error", func(t *testing.T) {
		const secret = "/var/lib/podseed/podseed.db: disk I/O error"
		e.cat.fail = map[string]error{"AddFeed": errors.New(secret), "RemoveFeed": errors.New(secret)}
		defer func() { e.cat.fail = nil }()
		for _, path := range []string{"/admin/feeds", fmt.Sprintf("/admin/feeds/%d/delete", e.fx.broken.ID)} {
			resp, body := e.do(t, http.MethodPost, path, url.Values{"url": {"https://feeds.example.com/other.xml"}}, bearer)
			if resp.StatusCode != http.StatusInternalServerError || string(body) != "internal server error\n" {
				t.Errorf("POST %s: got %d %q, want 500 with a generic body", path, resp.StatusCode, body)
			}
		}
		if !strings.Contains(e.logs.String(), "disk I/O error") {
			t.Errorf("log lacks the cause:\n%s", e.logs.String())
		}
	})
	e.checkNoSecrets(t)
}

func TestAdminLogin(t *testing.T) {
	t.Run("form", func(t *testing.T) {
		e := mustServeAdmin(t, adminToken)
		_, doc, _ := e.mustGetAdminPage(t, "/admin/login")
		f := formByID(doc, "login")
		if f == nil {
			t.Fatal("no login form")
		}
		if got, want := attr(f, "action"), publicBase+"/admin/login"; got != want || attr(f, "method") != "post" {
			t.Errorf("login form: %s %q, want post %q", attr(f, "method"), got, want)
		}
		var fields []string
		for _, in := range find(f, atom.Input) {
			fields = append(fields, attr(in, "name")+":"+attr(in, "type"))
		}
		if got, want := strings.Join(fields, " "), "token:password"; got != want {
			t.Errorf("login fields: got %q, want %q", got, want)
		}
	})

	t.Run("refused", func(t *testing.T) {
		e := mustServeAdmin(t, adminToken)
		for _, tt := range []struct {
			name       string
			form       url.Values
			header     http.Header
			wantStatus int
		}{
			{"wrong token", url.Values{"token": {"hunter2"}}, nil, 401},
			{"token with a suffix", url.Values{"token": {adminToken + " "}}, nil, 401},
			{"empty token", url.Values{"token": {""}}, nil, 401},
			{"no token", url.Values{}, nil, 401},
			{"foreign origin", url.Values{"token": {adminToken}}, http.Header{"Origin": {"https://evil.example"}}, 403},
			{"null origin", url.Values{"token": {adminToken}}, http.Header{"Origin": {"null"}}, 403},
			{"origin of another port", url.Values{"token": {adminToken}}, http.Header{"Origin": {publicBase + ":8443"}}, 403},
			{"origin of another scheme", url.Values{"token": {adminToken}}, http.Header{"Origin": {strings.Replace(publicBase, "https:", "http:", 1)}}, 403},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp, body := e.do(t, http.MethodPost, "/admin/login", tt.form, tt.header)
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("got status %d, want %d; body:\n%s", resp.StatusCode, tt.wantStatus, body)
				}
				if got := resp.Header.Values("Set-Cookie"); len(got) != 0 {
					t.Errorf("Set-Cookie: got %q, want none", got)
				}
				if tt.wantStatus == 401 {
					checkWellFormed(t, body)
					if !bytes.Contains(body, []byte("Wrong admin token.")) {
						t.Errorf("page does not say the token was wrong:\n%s", body)
					}
					if formByID(mustParse(t, body), "login") == nil {
						t.Errorf("page has no login form to try again:\n%s", body)
					}
				}
			})
		}
		e.checkNoSecrets(t)
	})

	for _, tt := range []struct {
		name       string
		base       string
		tls        bool
		origin     string // Origin header, if not ""
		wantSecure bool
	}{
		{name: "https base URL", base: publicBase, wantSecure: true},
		{name: "https base URL with its origin", base: publicBase, origin: publicBase, wantSecure: true},
		{name: "https base URL with its origin's default port", base: publicBase + ":443", origin: publicBase, wantSecure: true},
		{name: "http base URL", base: "http://podseed.test:8080", wantSecure: false},
		{name: "http base URL over TLS", base: "http://podseed.test:8080", tls: true, wantSecure: true},
	} {
		t.Run("cookie/"+tt.name, func(t *testing.T) {
			e := mustServeAdminAt(t, adminToken, tt.base, tt.tls)
			var header http.Header
			if tt.origin != "" {
				header = http.Header{"Origin": {tt.origin}}
			}
			resp, body := e.do(t, http.MethodPost, "/admin/login", url.Values{"token": {adminToken}}, header)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("got status %d, want 303; body:\n%s", resp.StatusCode, body)
			}
			if got, want := resp.Header.Get("Location"), strings.TrimSuffix(tt.base, ":443")+"/"; got != want && got != tt.base+"/" {
				t.Errorf("Location: got %q, want %q", got, want)
			}
			c := findSessionCookie(resp)
			if c == nil {
				t.Fatalf("no session cookie in %q", resp.Header.Values("Set-Cookie"))
			}
			if !c.HttpOnly {
				t.Errorf("cookie not HttpOnly: %q", c.Raw)
			}
			if c.SameSite != http.SameSiteStrictMode {
				t.Errorf("cookie SameSite: got %v, want Strict: %q", c.SameSite, c.Raw)
			}
			if c.Path != "/" {
				t.Errorf("cookie Path: got %q, want /", c.Path)
			}
			if c.Secure != tt.wantSecure {
				t.Errorf("cookie Secure: got %v, want %v: %q", c.Secure, tt.wantSecure, c.Raw)
			}
			if got, want := c.MaxAge, int((12 * time.Hour).Seconds()); got != want {
				t.Errorf("cookie Max-Age: got %d, want %d", got, want)
			}
			exp, sig, ok := strings.Cut(c.Value, ".")
			if want := strconv.FormatInt(sampleNow.Add(12*time.Hour).Unix(), 10); !ok || exp != want || len(sig) != 64 {
				t.Errorf("cookie value %q, want %s.HMAC-SHA256 in hex", c.Value, want)
			}
			if strings.Contains(c.Value, adminToken) {
				t.Errorf("cookie carries the token: %q", c.Value)
			}
		})
	}
}

// mustParse parses an HTML page.
func mustParse(t *testing.T, page []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestAdminSession(t *testing.T) {
	e := mustServeAdmin(t, adminToken)
	ctx := context.Background()
	st := e.fx.store
	start := e.clock.now()
	cookie := e.mustLogin(t)

	t.Run("logged out pages link to the login form", func(t *testing.T) {
		for _, path := range []string{"/", fmt.Sprintf("/feeds/%d", e.fx.nightShift.ID)} {
			_, doc, _ := e.mustGetAdminPage(t, path)
			if n := len(find(doc, atom.Form)); n != 0 {
				t.Errorf("%s: got %d forms, want none", path, n)
			}
			if got := links(byID(t, doc, "admin"), nil)["Log in"]; got != publicBase+"/admin/login" {
				t.Errorf("%s: login link: got %q, want %q", path, got, publicBase+"/admin/login")
			}
		}
	})

	resp, doc, _ := e.mustGetAdminPage(t, "/", cookie)
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control of a page with a CSRF token: got %q, want no-store", got)
	}
	// The admin forms are not feed sections.
	if _, sections := parseIndex(t, mustRender(t, e, "/", cookie)); len(sections) != 2 {
		t.Errorf("got %d feed sections, want 2", len(sections))
	}
	addPath, csrf := e.mustForm(t, doc, "add-feed")
	if addPath != "/admin/feeds" {
		t.Errorf("add form posts to %q, want /admin/feeds", addPath)
	}
	if f := formByID(doc, "add-feed"); len(find(f, atom.Input)) != 2 || attr(find(f, atom.Input)[0], "name") != "url" {
		t.Errorf("add form fields: want url and csrf")
	}
	if formByID(doc, "logout") == nil {
		t.Errorf("no logout form")
	}
	if strings.Contains(csrf, adminToken) || strings.Contains(csrf, cookie.Value) {
		t.Errorf("CSRF token %q leaks the token or session", csrf)
	}

	// A second session, a minute later, has its own CSRF token.
	e.clock.set(start.Add(time.Minute))
	other := e.mustLogin(t)
	_, otherDoc, _ := e.mustGetAdminPage(t, "/", other)
	_, otherCSRF := e.mustForm(t, otherDoc, "add-feed")
	if other.Value == cookie.Value || otherCSRF == csrf {
		t.Fatalf("two sessions share a cookie or CSRF token")
	}

	const added, added2, added3 = "https://feeds.example.com/added.xml", "https://feeds.example.com/added2.xml", "https://feeds.example.com/added3.xml"
	addForm := func(u, csrf string) url.Values {
		f := url.Values{"url": {u}}
		if csrf != "" {
			f.Set("csrf", csrf)
		}
		return f
	}
	forged := *cookie
	forged.Value = strconv.FormatInt(start.Add(1000*time.Hour).Unix(), 10) + cookie.Value[strings.Index(cookie.Value, "."):]
	garbled := *cookie
	garbled.Value = cookie.Value[:len(cookie.Value)-1] + "0"
	if garbled.Value == cookie.Value {
		garbled.Value = cookie.Value[:len(cookie.Value)-1] + "1"
	}
	for _, tt := range []struct {
		name       string
		form       url.Values
		header     http.Header
		cookie     *http.Cookie
		wantStatus int
		wantLoc    string // Location, if not ""
		wantFeed   string // URL that must be in the store, if not ""
	}{
		{name: "no CSRF token", form: addForm(added, ""), cookie: cookie, wantStatus: 403},
		{name: "empty CSRF token", form: addForm(added, " "), cookie: cookie, wantStatus: 403},
		{name: "other session's CSRF token", form: addForm(added, otherCSRF), cookie: cookie, wantStatus: 403},
		{name: "CSRF token without cookie", form: addForm(added, csrf), wantStatus: 401},
		{name: "forged expiry", form: addForm(added, csrf), cookie: &forged, wantStatus: 401},
		{name: "garbled cookie", form: addForm(added, csrf), cookie: &garbled, wantStatus: 401},
		{name: "foreign origin", form: addForm(added, csrf), cookie: cookie, header: http.Header{"Origin": {"https://evil.example"}}, wantStatus: 403},
		{name: "null origin", form: addForm(added, csrf), cookie: cookie, header: http.Header{"Origin": {"null"}}, wantStatus: 403},
		{name: "foreign origin in the query", form: addForm(added, csrf), cookie: cookie,
			header: http.Header{"Origin": {"https://evil.example/?" + publicBase}}, wantStatus: 403},
		{name: "invalid URL", form: addForm("not a url", csrf), cookie: cookie, wantStatus: 400},
		{name: "add", form: addForm(added, csrf), cookie: cookie, wantStatus: 303,
			wantLoc: fmt.Sprintf("%s/#feed-%d", publicBase, e.fx.broken.ID+1), wantFeed: added},
		{name: "add with the base URL's origin", form: addForm(added2, csrf), cookie: cookie,
			header: http.Header{"Origin": {publicBase}}, wantStatus: 303, wantFeed: added2},
		{name: "add with the request's origin", form: addForm(added3, otherCSRF), cookie: other,
			header: http.Header{"Origin": {e.srv.URL}}, wantStatus: 303, wantFeed: added3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cookies []*http.Cookie
			if tt.cookie != nil {
				cookies = append(cookies, tt.cookie)
			}
			before := countFeeds(t, st)
			resp, body := e.do(t, http.MethodPost, "/admin/feeds", tt.form, tt.header, cookies...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got status %d, want %d; body:\n%s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantLoc != "" && resp.Header.Get("Location") != tt.wantLoc {
				t.Errorf("Location: got %q, want %q", resp.Header.Get("Location"), tt.wantLoc)
			}
			if tt.wantFeed != "" {
				if _, err := st.FindFeedByURL(ctx, tt.wantFeed); err != nil {
					t.Errorf("added feed not in store: %v", err)
				}
			} else if got := countFeeds(t, st); got != before {
				t.Errorf("store has %d feeds, want %d", got, before)
			}
		})
	}

	t.Run("remove", func(t *testing.T) {
		_, doc, page := e.mustGetAdminPage(t, fmt.Sprintf("/feeds/%d", e.fx.nightShift.ID), cookie)
		path, csrf := e.mustForm(t, doc, "remove-feed")
		if want := fmt.Sprintf("/admin/feeds/%d/delete", e.fx.nightShift.ID); path != want {
			t.Errorf("remove form posts to %q, want %q", path, want)
		}
		if !bytes.Contains(page, []byte("files stay in the data directory")) {
			t.Errorf("feed page does not say the files are kept")
		}
		if resp, body := e.do(t, http.MethodPost, path, url.Values{}, nil, cookie); resp.StatusCode != http.StatusForbidden {
			t.Errorf("without CSRF token: got status %d, want 403; body: %q", resp.StatusCode, body)
		}
		resp, body := e.do(t, http.MethodPost, path, url.Values{"csrf": {csrf}}, nil, cookie)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != publicBase+"/" {
			t.Fatalf("got %d to %q, want 303 to the index; body:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		if _, err := st.FindFeedByID(ctx, e.fx.nightShift.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removed feed: got err %v, want ErrNotFound", err)
		}
		if resp, body := e.do(t, http.MethodPost, path, url.Values{"csrf": {csrf}}, nil, cookie); resp.StatusCode != http.StatusNotFound {
			t.Errorf("removing it again: got status %d, want 404; body: %q", resp.StatusCode, body)
		}
		if resp, body := e.do(t, http.MethodPost, "/admin/feeds/99/delete", url.Values{"csrf": {csrf}}, nil, cookie); resp.StatusCode != http.StatusNotFound {
			t.Errorf("removing an unknown feed: got status %d, want 404; body: %q", resp.StatusCode, body)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		// cookie was issued at start; it lasts 12 hours.
		e.clock.set(start.Add(12*time.Hour - time.Second))
		_, doc, _ := e.mustGetAdminPage(t, "/", cookie)
		if formByID(doc, "add-feed") == nil {
			t.Fatalf("session ended before 12 hours")
		}
		e.clock.set(start.Add(12 * time.Hour))
		_, doc, _ = e.mustGetAdminPage(t, "/", cookie)
		if formByID(doc, "add-feed") != nil {
			t.Errorf("expired session still gets the add form")
		}
		resp, body := e.do(t, http.MethodPost, "/admin/feeds", addForm("https://feeds.example.com/late.xml", csrf), nil, cookie)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("expired session: got status %d, want 401; body: %q", resp.StatusCode, body)
		}
		// The later session still has a minute.
		resp, body = e.do(t, http.MethodPost, "/admin/feeds", addForm("https://feeds.example.com/late.xml", otherCSRF), nil, other)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("unexpired session: got status %d, want 303; body: %q", resp.StatusCode, body)
		}
	})

	t.Run("logout", func(t *testing.T) {
		resp, body := e.do(t, http.MethodPost, "/admin/logout", url.Values{}, http.Header{"Origin": {"https://evil.example"}}, other)
		if resp.StatusCode != http.StatusForbidden || findSessionCookie(resp) != nil {
			t.Errorf("cross-origin logout: got %d with cookie %v, want 403 without", resp.StatusCode, findSessionCookie(resp))
		}
		resp, body = e.do(t, http.MethodPost, "/admin/logout", url.Values{}, nil, other)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != publicBase+"/" {
			t.Fatalf("got %d to %q, want 303 to the index; body:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		c := findSessionCookie(resp)
		if c == nil || c.Value != "" || c.MaxAge >= 0 || c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("logout cookie: got %v, want an empty, expired podseed_admin cookie at /", c)
		}
	})
	e.checkNoSecrets(t, cookie, other)
}

// mustRender GETs path with cookies and returns the page.
func mustRender(t *testing.T, e *adminEnv, path string, cookies ...*http.Cookie) []byte {
	t.Helper()
	_, _, page := e.mustGetAdminPage(t, path, cookies...)
	return page
}

func TestAdminLoginPageLoggedIn(t *testing.T) {
	e := mustServeAdmin(t, adminToken)
	cookie := e.mustLogin(t)
	_, doc, _ := e.mustGetAdminPage(t, "/admin/login", cookie)
	if !strings.Contains(text(doc), "You are logged in.") || formByID(doc, "logout") == nil {
		t.Errorf("login page does not show the session: %q", text(doc))
	}
	if !strings.Contains(text(doc), "lasts 12 hours") {
		t.Errorf("login page does not say how long a session lasts: %q", text(doc))
	}
}

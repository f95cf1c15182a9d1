package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podseed/podseed/feed"
	"github.com/podseed/podseed/store"
)

// laughsFeed is a "billion laughs" feed: lol9 would expand to 10⁹ "lol"s
// (3 GB) in the channel title and in the episode title.
const laughsFeed = `<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>laughs &lol9;</title>
<item><guid>laughs-1</guid><title>one &lol9;</title><enclosure url="%s" length="0" type="audio/mpeg"/></item>
</channel></rss>`

// xxeFeed names a local file as an external entity (XXE).
const xxeFeed = `<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>xxe &xxe;</title>
<item><guid>xxe-1</guid><title>one &xxe;</title><enclosure url="%s" length="0" type="audio/mpeg"/></item>
</channel></rss>`

// latin1Feed is an ISO-8859-1 feed ("Café", "Hôtel" with 0xE9 and 0xF4);
// decl is its XML declaration, "" for none.
func latin1Feed(decl, enclosureURL string) []byte {
	return fmt.Appendf(nil, "%s<rss version=\"2.0\"><channel><title>Caf\xe9</title>"+
		"<item><guid>latin1-1</guid><title>H\xf4tel \xe9t\xe9</title><enclosure url=\"%s\" length=\"0\" type=\"audio/mpeg\"/></item>"+
		"</channel></rss>", decl, enclosureURL)
}

// TestHostileFeedBodies polls feeds whose bodies are hostile or merely
// unusual through the real fetch → parse → store → publish path, and
// checks for each what podseed did: the poll outcome recorded on the feed,
// the episodes and their titles, and the republished feed, which must be
// well-formed (xmllint) and carry no entity that expands.
func TestHostileFeedBodies(t *testing.T) {
	xmllint := realFeedXMLLint(t)
	data := make([]byte, 50_000)
	_, _ = rand.NewChaCha8([32]byte{4, 4, 1}).Read(data)
	var endlessGaveUp atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep := srv.URL + "/ep.mp3"
		switch r.URL.Path {
		case "/ep.mp3":
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		case "/hop/0/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = w.Write(hostileFeed("hops", ep, 0))
		case "/laughs.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = fmt.Fprintf(w, laughsFeed, ep)
		case "/xxe.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = fmt.Fprintf(w, xxeFeed, ep)
		case "/latin1-declared.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = w.Write(latin1Feed(`<?xml version="1.0" encoding="ISO-8859-1"?>`, ep))
		case "/latin1-header.xml": // the charset only in Content-Type
			w.Header().Set("Content-Type", "application/rss+xml; charset=ISO-8859-1")
			_, _ = w.Write(latin1Feed(`<?xml version="1.0"?>`, ep))
		case "/gzip-bomb.xml": // 21 MiB of spaces, about 21 KiB gzipped
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				http.Error(w, "gzip only", http.StatusNotAcceptable)
				return
			}
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			_, _ = zw.Write(hostileFeed("gzip", ep, 0)[:50])
			_, _ = zw.Write(bytes.Repeat([]byte(" "), 21<<20))
			_ = zw.Close()
		case "/endless.xml": // a body that never ends, written as fast as it is read
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>endless</title>`))
			chunk := bytes.Repeat([]byte("<item><title>again</title></item>\n"), 1000)
			for {
				if _, err := w.Write(chunk); err != nil {
					endlessGaveUp.Add(1)
					return
				}
			}
		default:
			var n int
			if _, err := fmt.Sscanf(r.URL.Path, "/hop/%d/feed.xml", &n); err == nil && n > 0 {
				http.Redirect(w, r, fmt.Sprintf("/hop/%d/feed.xml", n-1), http.StatusFound)
				return
			}
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	tests := []struct {
		name, path string
		// wantError is a substring of the feed's recorded error; "" means
		// the poll must succeed.
		wantError string
		// wantTitle and wantEpisode are the feed and episode titles
		// stored when the poll succeeds. Entities declared in the DOCTYPE
		// are not expanded: their references stay as literal text.
		wantTitle, wantEpisode string
	}{
		{name: "billion laughs", path: "/laughs.xml", wantTitle: "laughs &lol9;", wantEpisode: "one &lol9;"},
		{name: "external entity", path: "/xxe.xml", wantTitle: "xxe &xxe;", wantEpisode: "one &xxe;"},
		{name: "ISO-8859-1 declared", path: "/latin1-declared.xml", wantTitle: "Café", wantEpisode: "Hôtel été"},
		{name: "ISO-8859-1 in Content-Type only", path: "/latin1-header.xml", wantTitle: "Café", wantEpisode: "Hôtel été"},
		{name: "10 redirects", path: "/hop/10/feed.xml", wantTitle: "hops", wantEpisode: "one"},
		{name: "11 redirects", path: "/hop/11/feed.xml", wantError: "stopped after 10 redirects"},
		{name: "gzip beyond the cap", path: "/gzip-bomb.xml", wantError: "feed too large"},
		{name: "endless body", path: "/endless.xml", wantError: "feed too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := openTestApp(t)
			ctx := t.Context()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			f := mustAddAndIngest(t, a, srv.URL+tt.path)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			// Memory stays bounded: the feed caps are 20 MiB, an expanded
			// bomb would be gigabytes.
			grew := after.TotalAlloc - before.TotalAlloc
			t.Logf("poll and ingest allocated %d MiB", grew>>20)
			if grew > 256<<20 {
				t.Errorf("poll allocated %d MiB, want a bounded amount", grew>>20)
			}
			got := mustFindFeed(t, a.Store(), f.ID)
			if tt.wantError != "" {
				if got.Failures != 1 || !strings.Contains(got.LastError, tt.wantError) || !got.NextPollAt.After(start) {
					t.Errorf("feed: %d failures, error %q, next poll %v; want 1 failure with %q and a later poll",
						got.Failures, got.LastError, got.NextPollAt, tt.wantError)
				}
				if code, _ := serveApp(a, fmt.Sprintf("/feeds/%d.rss", f.ID)); code != http.StatusNotFound {
					t.Errorf("republished feed: status %d, want 404 (never fetched)", code)
				}
				return
			}
			if got.LastError != "" || got.Failures != 0 {
				t.Fatalf("feed: %d failures, error %q; want polled", got.Failures, got.LastError)
			}
			if got.Title != tt.wantTitle {
				t.Errorf("feed title %q, want %q", got.Title, tt.wantTitle)
			}
			ready := readyEpisodes(t, a.Store(), f.ID)
			if len(ready) != 1 {
				eps, _ := a.Store().ListEpisodesByFeed(ctx, f.ID)
				t.Fatalf("got %d ready episodes, want 1: %+v", len(ready), eps)
			}
			if ready[0].Title != tt.wantEpisode {
				t.Errorf("episode title %q, want %q", ready[0].Title, tt.wantEpisode)
			}
			out := mustServeApp(t, a, fmt.Sprintf("/feeds/%d.rss", f.ID))
			if !bytes.Contains(out, []byte("alternateEnclosure")) {
				t.Errorf("republished feed has no alternate enclosure:\n%s", out)
			}
			// No entity bomb is passed on to subscribers.
			for _, bad := range []string{"<!ENTITY", "lollol", "root:"} {
				if bytes.Contains(out, []byte(bad)) {
					t.Errorf("republished feed contains %q:\n%.2000s", bad, out)
				}
			}
			if xmllint != "" {
				if err := realFeedXMLLintCheck(xmllint, out); err != nil {
					t.Errorf("republished feed is not well-formed: %v\n%s", err, out)
				}
			}
			// Subscribers read the same titles from the republished feed.
			rp, err := feed.Parse(out, "")
			if err != nil {
				t.Fatalf("republished feed: %v", err)
			}
			if rp.Title != tt.wantTitle || len(rp.Episodes) != 1 || rp.Episodes[0].Title != tt.wantEpisode {
				t.Errorf("republished feed reads as title %q, episodes %+v; want %q with %q", rp.Title, rp.Episodes, tt.wantTitle, tt.wantEpisode)
			}
			page := mustServeApp(t, a, fmt.Sprintf("/feeds/%d", f.ID))
			if !bytes.Contains(page, []byte(html.EscapeString(tt.wantEpisode))) {
				t.Errorf("feed page does not show the episode title %q", tt.wantEpisode)
			}
		})
	}
	waitFor(t, 10*time.Second, "the endless origin to see the client give up", func() bool {
		return endlessGaveUp.Load() >= 1
	})
}

// TestHostileEnclosures ingests enclosures from origins that misbehave:
// a body that never ends (written as fast as podseed reads, until it
// hangs up) is cut off at the enclosure size cap, leaves no partial file,
// publishes nothing and is retried after a backoff, when it fails the
// same way; a redirect chain one hop longer than the cap of 10 is refused
// and its episode not published, while a chain of exactly 10 hops beside
// it is followed.
func TestHostileEnclosures(t *testing.T) {
	data := make([]byte, 60_000)
	_, _ = rand.NewChaCha8([32]byte{4, 4, 2}).Read(data)
	var endlessGETs, endlessGaveUp atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>hostile</title>`+
				`<item><guid>endless</guid><title>endless</title><enclosure url="%[1]s/endless.mp3" length="0" type="audio/mpeg"/></item>`+
				`<item><guid>hops-11</guid><title>eleven</title><enclosure url="%[1]s/hop/11/eleven.mp3" length="0" type="audio/mpeg"/></item>`+
				`<item><guid>hops-10</guid><title>ten</title><enclosure url="%[1]s/hop/10/ten.mp3" length="0" type="audio/mpeg"/></item>`+
				`</channel></rss>`, srv.URL)
		case r.URL.Path == "/endless.mp3": // no Content-Length, no end
			endlessGETs.Add(1)
			w.Header().Set("Content-Type", "audio/mpeg")
			chunk := make([]byte, 32<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					endlessGaveUp.Add(1)
					return
				}
			}
		case strings.HasPrefix(r.URL.Path, "/hop/"):
			var n int
			var name string
			if _, err := fmt.Sscanf(strings.ReplaceAll(r.URL.Path, "/", " "), " hop %d %s", &n, &name); err != nil {
				http.NotFound(w, r)
				return
			}
			if n > 0 {
				http.Redirect(w, r, fmt.Sprintf("/hop/%d/%s", n-1, name), http.StatusFound)
				return
			}
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	a := openTestApp(t)
	a.cfg.MaxEnclosureBytes = 1 << 20
	start := time.Now()
	f := mustAddAndIngest(t, a, srv.URL+"/feed.xml")

	endless := mustEpisodeByGUID(t, a, f.ID, "endless")
	if endless.State != store.EpisodeFailed || !strings.Contains(endless.LastError, "enclosure too large") ||
		endless.Attempts != 1 || !endless.NextAttemptAt.After(start) {
		t.Errorf("endless enclosure: state %s, error %q, %d attempts, next attempt %v; want failed at the size cap, retried later",
			endless.State, endless.LastError, endless.Attempts, endless.NextAttemptAt)
	}
	waitFor(t, 10*time.Second, "the endless origin to see podseed hang up", func() bool {
		return endlessGaveUp.Load() >= 1
	})
	eleven := mustEpisodeByGUID(t, a, f.ID, "hops-11")
	if eleven.State != store.EpisodeFailed || !strings.Contains(eleven.LastError, "stopped after 10 redirects") {
		t.Errorf("11-hop chain: state %s, error %q; want failed after 10 redirects", eleven.State, eleven.LastError)
	}
	if ten := mustEpisodeByGUID(t, a, f.ID, "hops-10"); ten.State != store.EpisodeReady {
		t.Errorf("10-hop chain: state %s, error %q; want ready", ten.State, ten.LastError)
	}
	diskFullCheckEmpty(t, filepath.Join(a.cfg.DataDir, "tmp"))
	out := diskFullFeedRSS(t, a, f.ID)
	if n := strings.Count(out, "<podcast:alternateEnclosure"); n != 1 || !strings.Contains(out, `ten.mp3" length="0" type="audio/mpeg"/><podcast:alternateEnclosure`) {
		t.Errorf("republished feed has %d alternate enclosures, want one, for the 10-hop episode:\n%s", n, out)
	}

	// Not retried before its time; retried, and refused again, after it.
	a.ingestPending(t.Context())
	if n := endlessGETs.Load(); n != 1 {
		t.Fatalf("endless enclosure fetched %d times before its retry time, want 1", n)
	}
	diskFullSQL(t, a.cfg.dbPath(), "UPDATE episodes SET next_attempt_at = 1 WHERE guid = 'endless'")
	a.ingestPending(t.Context())
	endless = mustEpisodeByGUID(t, a, f.ID, "endless")
	if n := endlessGETs.Load(); n != 2 || endless.Attempts != 2 || endless.State != store.EpisodeFailed {
		t.Errorf("after its retry time: %d GETs, %d attempts, state %s; want 2, 2, failed", n, endless.Attempts, endless.State)
	}
	diskFullCheckEmpty(t, filepath.Join(a.cfg.DataDir, "tmp"))
}

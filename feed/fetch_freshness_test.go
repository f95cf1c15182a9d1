package feed

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFreshness(t *testing.T) {
	now := time.Date(2025, time.February, 1, 12, 0, 0, 0, time.UTC)
	const (
		date       = "Sat, 01 Feb 2025 12:00:00 GMT"
		inAnHour   = "Sat, 01 Feb 2025 13:00:00 GMT"
		anHourAgo  = "Sat, 01 Feb 2025 11:00:00 GMT"
		yesterday  = "Fri, 31 Jan 2025 12:00:00 GMT"
		dayOldNoon = "Fri, 31 Jan 2025 14:00:00 GMT"
	)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{name: "no caching headers", header: http.Header{}, want: 0},
		{name: "max-age", header: http.Header{"Cache-Control": {"max-age=300"}}, want: 5 * time.Minute},
		{name: "max-age among others", header: http.Header{"Cache-Control": {"public, max-age=600, must-revalidate"}}, want: 10 * time.Minute},
		{name: "directive names are case-insensitive", header: http.Header{"Cache-Control": {"Public, MAX-AGE=60"}}, want: time.Minute},
		{name: "quoted argument", header: http.Header{"Cache-Control": {`max-age="120"`}}, want: 2 * time.Minute},
		{name: "empty list members", header: http.Header{"Cache-Control": {", ,max-age=30,"}}, want: 30 * time.Second},
		{name: "s-maxage alone", header: http.Header{"Cache-Control": {"s-maxage=900"}}, want: 15 * time.Minute},
		{name: "max-age wins over s-maxage", header: http.Header{"Cache-Control": {"s-maxage=900, max-age=60"}}, want: time.Minute},
		{name: "first max-age wins", header: http.Header{"Cache-Control": {"max-age=60", "max-age=3600"}}, want: time.Minute},
		{name: "directives across field lines", header: http.Header{"Cache-Control": {"max-age=60", "no-cache"}}, want: 0},
		{name: "no-cache beats max-age", header: http.Header{"Cache-Control": {"max-age=60, no-cache"}}, want: 0},
		{name: "qualified no-cache", header: http.Header{"Cache-Control": {`no-cache="Set-Cookie", max-age=60`}}, want: 0},
		{name: "no-store beats max-age", header: http.Header{"Cache-Control": {"no-store, max-age=60"}}, want: 0},
		{name: "max-age=0", header: http.Header{"Cache-Control": {"private, max-age=0"}}, want: 0},
		{name: "negative max-age", header: http.Header{"Cache-Control": {"max-age=-1"}}, want: 0},
		{name: "fractional max-age", header: http.Header{"Cache-Control": {"max-age=1.5"}}, want: 0},
		{name: "invalid max-age is stale even with Expires", header: http.Header{"Cache-Control": {"max-age=soon"}, "Date": {date}, "Expires": {inAnHour}}, want: 0},
		{name: "huge max-age is 2^31 seconds", header: http.Header{"Cache-Control": {"max-age=99999999999999999999"}}, want: maxDeltaSeconds * time.Second},
		{name: "max-age wins over Expires", header: http.Header{"Cache-Control": {"max-age=60"}, "Date": {date}, "Expires": {inAnHour}}, want: time.Minute},
		{name: "Expires minus Date", header: http.Header{"Date": {date}, "Expires": {inAnHour}}, want: time.Hour},
		{name: "Expires minus a skewed Date", header: http.Header{"Date": {yesterday}, "Expires": {dayOldNoon}}, want: 2 * time.Hour},
		{name: "Expires without Date counts from now", header: http.Header{"Expires": {inAnHour}}, want: time.Hour},
		{name: "Expires with an invalid Date counts from now", header: http.Header{"Date": {"today"}, "Expires": {inAnHour}}, want: time.Hour},
		{name: "Expires in the past", header: http.Header{"Date": {date}, "Expires": {anHourAgo}}, want: 0},
		{name: "invalid Expires means expired", header: http.Header{"Date": {date}, "Expires": {"0"}}, want: 0},
		{name: "max-age less Age", header: http.Header{"Cache-Control": {"max-age=600"}, "Age": {"100"}}, want: 500 * time.Second},
		{name: "Age beyond max-age", header: http.Header{"Cache-Control": {"max-age=600"}, "Age": {"900"}}, want: 0},
		{name: "invalid Age is ignored", header: http.Header{"Cache-Control": {"max-age=600"}, "Age": {"old"}}, want: 10 * time.Minute},
		{name: "Expires less Age", header: http.Header{"Date": {date}, "Expires": {inAnHour}, "Age": {"60"}}, want: 59 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := freshness(tt.header, now); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFetchMaxAge checks that Fetch reports the freshness of a 200 and of a
// 304, whose headers refresh it (RFC 9111, section 4.3.4).
func TestFetchMaxAge(t *testing.T) {
	now := time.Date(2025, time.February, 1, 12, 0, 0, 0, time.UTC)
	srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.Header().Set("Cache-Control", "max-age=600")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		switch r.URL.Path {
		case "/expires":
			// Date is set by net/http from the real clock; without it the
			// injected clock is the reference.
			w.Header()["Date"] = nil
			w.Header().Set("Expires", "Sat, 01 Feb 2025 14:00:00 GMT")
		case "/no-store":
			w.Header().Set("Cache-Control", "no-store")
		default:
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		_, _ = w.Write([]byte("<rss/>"))
	}))
	f := &Fetcher{now: func() time.Time { return now }}
	tests := []struct {
		name string
		req  Request
		want time.Duration
	}{
		{name: "200 with max-age", req: Request{URL: srv.URL + "/feed"}, want: 5 * time.Minute},
		{name: "304 with max-age", req: Request{URL: srv.URL + "/feed", ETag: `"v1"`}, want: 10 * time.Minute},
		{name: "200 with Expires", req: Request{URL: srv.URL + "/expires"}, want: 2 * time.Hour},
		{name: "200 with no-store", req: Request{URL: srv.URL + "/no-store"}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustFetch(t, f, tt.req)
			if res.MaxAge != tt.want {
				t.Errorf("MaxAge: got %v, want %v", res.MaxAge, tt.want)
			}
		})
	}
}

func TestFetchPermanentRedirect(t *testing.T) {
	tests := []struct {
		name        string
		chain       []int // status of each redirect, in order
		notModified bool  // the final hop answers 304
		wantMoved   bool
	}{
		{name: "no redirect"},
		{name: "301", chain: []int{http.StatusMovedPermanently}, wantMoved: true},
		{name: "308", chain: []int{http.StatusPermanentRedirect}, wantMoved: true},
		{name: "301 then 308", chain: []int{http.StatusMovedPermanently, http.StatusPermanentRedirect}, wantMoved: true},
		{name: "301 to a 304", chain: []int{http.StatusMovedPermanently}, notModified: true, wantMoved: true},
		{name: "302", chain: []int{http.StatusFound}},
		{name: "303", chain: []int{http.StatusSeeOther}},
		{name: "307", chain: []int{http.StatusTemporaryRedirect}},
		{name: "301 then 302", chain: []int{http.StatusMovedPermanently, http.StatusFound}},
		{name: "307 then 301", chain: []int{http.StatusTemporaryRedirect, http.StatusMovedPermanently}},
		{name: "301, 307, 308", chain: []int{http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hop, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
				if err != nil {
					http.NotFound(w, r)
					return
				}
				if hop < len(tt.chain) {
					http.Redirect(w, r, "/hop/"+strconv.Itoa(hop+1), tt.chain[hop])
					return
				}
				if tt.notModified {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				_, _ = w.Write([]byte("<rss/>"))
			}))
			res := mustFetch(t, &Fetcher{}, Request{URL: srv.URL + "/hop/0", ETag: `"x"`})
			final := srv.URL + "/hop/" + strconv.Itoa(len(tt.chain))
			if res.FinalURL != final {
				t.Fatalf("FinalURL: got %q, want %q", res.FinalURL, final)
			}
			wantMovedTo := ""
			if tt.wantMoved {
				wantMovedTo = final
			}
			if res.PermanentRedirect != tt.wantMoved || res.MovedTo != wantMovedTo {
				t.Errorf("got PermanentRedirect %v, MovedTo %q, want %v, %q", res.PermanentRedirect, res.MovedTo, tt.wantMoved, wantMovedTo)
			}
		})
	}
}

// TestFetchPermanentRedirectBack checks that permanent redirects which end
// at the URL that was asked for do not count as a move.
func TestFetchPermanentRedirectBack(t *testing.T) {
	var visits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/feed", func(w http.ResponseWriter, r *http.Request) {
		if visits.Add(1) == 1 {
			http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
			return
		}
		_, _ = w.Write([]byte("<rss/>"))
	})
	mux.Handle("/elsewhere", http.RedirectHandler("/feed", http.StatusPermanentRedirect))
	srv := newOrigin(t, mux)
	res := mustFetch(t, &Fetcher{}, Request{URL: srv.URL + "/feed"})
	if res.FinalURL != srv.URL+"/feed" {
		t.Fatalf("FinalURL: got %q, want %q", res.FinalURL, srv.URL+"/feed")
	}
	if res.PermanentRedirect || res.MovedTo != "" {
		t.Errorf("got PermanentRedirect %v, MovedTo %q, want false, %q", res.PermanentRedirect, res.MovedTo, "")
	}
}

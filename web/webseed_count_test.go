package web_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podseed/podseed/web"
)

// TestWebSeedBytesCounted: the bytes podseed serves from its copy, over
// /webseed/… and over /episodes/{id} when the origin is unusable, count
// exactly the body bytes the client received for 200 and 206 answers
// (whole file, single range, open range, several ranges, If-Range
// mismatch), and nothing for HEAD, 304, 416, the ?torrent file, a page, a
// redirect or a 404; per torrent, on top of restored counts.
func TestWebSeedBytesCounted(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	copies := mustWriteCopies(t, fx)
	data := copies[fx.ready]
	otherIH, _ := mustAddTorrent(t, fx, "ep5", "ep5.mp3", 5, 30_000)
	cat := newTestCatalog(fx)
	cat.fail = map[string]error{"OriginUnusable": errors.New("origin flagged down")}
	var counted web.WebSeedBytes
	counted.Restore(map[string]int64{otherIH: 1_000_000, strings.Repeat("a", 40): -5})
	// The handler may still be adding its last write's bytes when the
	// client has read them: each request signals done when it returns.
	h := mustNewHandler(t, cat, swarmCounts(fx), &lockedBuffer{}, web.WithWebSeedBytes(&counted))
	done := make(chan struct{}, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { done <- struct{}{} }()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	waitHandlers := func(t *testing.T, n int) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for range n {
			select {
			case <-done:
			case <-deadline:
				t.Fatal("handler did not return within 10s")
			}
		}
	}
	seed := "/webseed/" + fx.ready + "/ep3.mp3"
	ep3 := fmt.Sprintf("/episodes/%d", fx.ep3.ID)
	etag := `"` + fx.ready + `"`
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		status int
		want   int64 // counted bytes
	}{
		{name: "whole", path: seed, status: 200, want: int64(len(data))},
		{name: "range", path: seed, header: http.Header{"Range": {"bytes=16384-32767"}}, status: 206, want: 16384},
		{name: "open range", path: seed, header: http.Header{"Range": {"bytes=39000-"}}, status: 206, want: 1000},
		{name: "suffix range", path: seed, header: http.Header{"Range": {"bytes=-10"}}, status: 206, want: 10},
		// want -1: the multipart body as received, framing included.
		{name: "two ranges", path: seed, header: http.Header{"Range": {"bytes=0-9,100-109"}}, status: 206, want: -1},
		{name: "if-range mismatch", path: seed, header: http.Header{"Range": {"bytes=0-99"}, "If-Range": {`"other"`}}, status: 200, want: int64(len(data))},
		{name: "HEAD", method: http.MethodHead, path: seed, status: 200, want: 0},
		{name: "HEAD range", method: http.MethodHead, path: seed, header: http.Header{"Range": {"bytes=0-99"}}, status: 206, want: 0},
		{name: "if-none-match", path: seed, header: http.Header{"If-None-Match": {etag}}, status: 304, want: 0},
		{name: "unsatisfiable", path: seed, header: http.Header{"Range": {"bytes=40000-"}}, status: 416, want: 0},
		{name: "torrent", path: seed + "?torrent", status: 200, want: 0},
		{name: "wrong name", path: "/webseed/" + fx.ready + "/ep4.mp3", status: 404, want: 0},
		{name: "episode copy", path: ep3, status: 200, want: int64(len(data))},
		{name: "episode range", path: ep3, header: http.Header{"Range": {"bytes=1000-1999"}}, status: 206, want: 1000},
		{name: "episode HEAD", method: http.MethodHead, path: ep3, status: 200, want: 0},
		{name: "episode page", path: ep3, header: browserAccept, status: 200, want: 0},
		{name: "pending episode redirect", path: fmt.Sprintf("/episodes/%d", fx.ep1.ID), status: 302, want: 0},
	}
	var total int64
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := counted.Bytes(fx.ready)
			resp, body := doNoRedirect(t, noRedirects(srv), cmpOr(tt.method, http.MethodGet), srv.URL+tt.path, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			want := tt.want
			if want < 0 {
				want = int64(len(body))
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") || want <= 20 {
					t.Fatalf("got %q with %d bytes, want a multipart answer", resp.Header.Get("Content-Type"), want)
				}
			}
			waitHandlers(t, 1)
			if got := counted.Bytes(fx.ready) - before; got != want {
				t.Errorf("counted %d bytes, want %d (body %d bytes)", got, want, len(body))
			}
			total += want
		})
	}
	if got := counted.Bytes(strings.ToUpper(fx.ready)); got != total {
		t.Errorf("Bytes(%s): got %d, want %d", fx.ready, got, total)
	}
	if got := counted.Bytes(otherIH); got != 1_000_000 {
		t.Errorf("Bytes of the restored, unserved torrent: got %d, want 1000000", got)
	}
	if got, want := counted.Total(), total+1_000_000; got != want {
		t.Errorf("Total: got %d, want %d", got, want)
	}

	// Concurrent requests of another torrent add up, on top of the
	// restored count, which a lower Restore does not lower.
	counted.Restore(map[string]int64{otherIH: 10})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.Client().Get(srv.URL + "/webseed/" + otherIH + "/ep5.mp3")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != 200 {
				t.Errorf("GET other: %d, %v", resp.StatusCode, err)
			}
		}()
	}
	wg.Wait()
	waitHandlers(t, 4)
	if got, want := counted.Bytes(otherIH), int64(1_000_000+4*30_000); got != want {
		t.Errorf("Bytes(other) after 4 concurrent GETs: got %d, want %d", got, want)
	}
}

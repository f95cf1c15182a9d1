package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/podseed/podseed/web"
)

// TestFeedCaching drives both feeds through ETag, If-None-Match and gzip
// negotiation. The transport's own gzip handling is off, so the test sees
// the bytes on the wire.
func TestFeedCaching(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	cat := newTestCatalog(fx)
	srv := mustServe(t, cat, swarmCounts(fx), io.Discard)
	srv.Client().Transport.(*http.Transport).DisableCompression = true
	id := strconv.FormatInt(fx.nightShift.ID, 10)
	for _, tt := range []struct {
		name, path string
		want       []byte
	}{
		{"republished", "/feeds/" + id + ".rss", cat.feedRSS[fx.nightShift.ID]},
		{"torrent feed", "/feeds/" + id + "/torrents.rss", cat.torrentRSS[fx.nightShift.ID]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := mustDo(t, srv, http.MethodGet, tt.path, nil)
			etag := resp.Header.Get("ETag")
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, tt.want) || resp.Header.Get("Content-Encoding") != "" {
				t.Fatalf("plain GET: status %d, encoding %q, body %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
			}
			if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
				t.Errorf("ETag %q: want a strong entity tag", etag)
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=60") {
				t.Errorf("Cache-Control %q: want max-age=60", cc)
			}
			if v := resp.Header.Values("Vary"); !strings.Contains(strings.Join(v, ","), "Accept-Encoding") {
				t.Errorf("Vary %q: want Accept-Encoding", v)
			}

			// gzip round trip.
			resp, gz := mustDo(t, srv, http.MethodGet, tt.path, http.Header{"Accept-Encoding": {"br;q=1, gzip;q=0.8"}})
			gzTag := resp.Header.Get("ETag")
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(bytes.NewReader(gz))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(plain, tt.want) {
				t.Errorf("gunzipped body differs from the feed")
			}
			if gzTag == etag || gzTag == "" {
				t.Errorf("gzip ETag %q: want one other than the identity ETag %q", gzTag, etag)
			}
			if len(gz) >= len(tt.want) {
				t.Errorf("gzip body %d bytes, plain %d", len(gz), len(tt.want))
			}
			// gzip;q=0 refuses gzip.
			resp, body = mustDo(t, srv, http.MethodGet, tt.path, http.Header{"Accept-Encoding": {"gzip;q=0, *"}})
			if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, tt.want) {
				t.Errorf("gzip;q=0: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}

			// Conditional GETs: either representation's tag, weak or
			// strong, in a list, gives 304 without a body.
			for _, inm := range []string{etag, gzTag, `"other", ` + etag, "W/" + etag, "*"} {
				for _, ae := range []string{"", "gzip"} {
					h := http.Header{"If-None-Match": {inm}}
					if ae != "" {
						h.Set("Accept-Encoding", ae)
					}
					resp, body := mustDo(t, srv, http.MethodGet, tt.path, h)
					if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
						t.Errorf("If-None-Match %s, Accept-Encoding %q: status %d, %d bytes; want 304, none", inm, ae, resp.StatusCode, len(body))
					}
					wantTag := etag
					if ae == "gzip" {
						wantTag = gzTag
					}
					if got := resp.Header.Get("ETag"); got != wantTag {
						t.Errorf("304 ETag %q, want %q", got, wantTag)
					}
				}
			}
			resp, body = mustDo(t, srv, http.MethodGet, tt.path, http.Header{"If-None-Match": {`"stale"`}})
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, tt.want) {
				t.Errorf("stale If-None-Match: status %d", resp.StatusCode)
			}
		})
	}

	// A changed feed gets a new ETag, and the old tag no longer matches.
	path := "/feeds/" + id + ".rss"
	resp, _ := mustDo(t, srv, http.MethodGet, path, nil)
	old := resp.Header.Get("ETag")
	cat.feedRSS[fx.nightShift.ID] = append(bytes.Clone(cat.feedRSS[fx.nightShift.ID]), "<!-- changed -->\n"...)
	resp, body := mustDo(t, srv, http.MethodGet, path, http.Header{"If-None-Match": {old}})
	if resp.StatusCode != http.StatusOK || !bytes.HasSuffix(body, []byte("<!-- changed -->\n")) {
		t.Errorf("changed feed with the old ETag: status %d, want 200 with the new body", resp.StatusCode)
	}
	if got := resp.Header.Get("ETag"); got == old || got == "" {
		t.Errorf("changed feed ETag %q, want a new one (old %q)", got, old)
	}
}

func TestNewRendered(t *testing.T) {
	a, err := web.NewRendered([]byte(strings.Repeat("<item/>", 100)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := web.NewRendered([]byte(strings.Repeat("<item/>", 101)))
	if err != nil {
		t.Fatal(err)
	}
	if a.ETag == b.ETag || a.GzipETag == b.GzipETag || a.ETag == a.GzipETag {
		t.Errorf("ETags not distinct: %q %q %q %q", a.ETag, a.GzipETag, b.ETag, b.GzipETag)
	}
	if a.Gzip == nil || a.Size() != int64(len(a.Body)+len(a.Gzip)) {
		t.Errorf("gzip %d bytes, size %d", len(a.Gzip), a.Size())
	}
	// Incompressible bytes are not stored twice.
	tiny, err := web.NewRendered([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if tiny.Gzip != nil {
		t.Errorf("1-byte body: gzip kept (%d bytes)", len(tiny.Gzip))
	}
}

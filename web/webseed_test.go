package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/podseed/podseed/web"
)

// TestWebSeed drives /webseed/{infohash}/{name} as BEP 19 clients and
// browsers do: whole file, ranges, If-Range and If-None-Match on the
// infohash ETag, HEAD, CORS and its preflight, and the S3-style ?torrent.
func TestWebSeed(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	copies := mustWriteCopies(t, fx)
	data := copies[fx.ready]
	mi := fx.metainfo[fx.ready]
	odd := "Folge 5: Über & \"mehr\" #1?.mp3"
	oddIH, _ := mustAddTorrent(t, fx, "ep5", odd, 5, 30_000)
	oddData := enclosureData(5, 30_000)
	logs := &lockedBuffer{}
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), logs)
	seed := "/webseed/" + fx.ready + "/ep3.mp3"
	etag := `"` + fx.ready + `"`
	size := strconv.Itoa(len(data))
	cors := map[string]string{
		"Access-Control-Allow-Origin":   "*",
		"Access-Control-Expose-Headers": "Accept-Ranges, Content-Length, Content-Range, ETag",
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		status int
		body   []byte
		want   map[string]string
	}{
		{name: "whole", path: seed, status: 200, body: data, want: with(cors, "ETag", etag, "Accept-Ranges", "bytes",
			"Content-Length", size, "Content-Type", "audio/mpeg", "Cache-Control", "public, max-age=31536000, immutable")},
		{name: "upper-case infohash", path: "/webseed/" + strings.ToUpper(fx.ready) + "/ep3.mp3", status: 200, body: data},
		{name: "HEAD", method: http.MethodHead, path: seed, status: 200, body: []byte{}, want: with(cors, "Content-Length", size, "ETag", etag)},
		{name: "range", path: seed, header: http.Header{"Range": {"bytes=16384-32767"}}, status: 206, body: data[16384:32768],
			want: with(cors, "Content-Range", "bytes 16384-32767/"+size, "Content-Length", "16384")},
		{name: "open range", path: seed, header: http.Header{"Range": {"bytes=39000-"}}, status: 206, body: data[39000:],
			want: map[string]string{"Content-Range": "bytes 39000-39999/" + size}},
		{name: "suffix range", path: seed, header: http.Header{"Range": {"bytes=-10"}}, status: 206, body: data[len(data)-10:]},
		{name: "unsatisfiable", path: seed, header: http.Header{"Range": {"bytes=40000-"}}, status: 416,
			want: map[string]string{"Content-Range": "bytes */" + size}},
		{name: "if-range match", path: seed, header: http.Header{"Range": {"bytes=0-99"}, "If-Range": {etag}}, status: 206, body: data[:100]},
		{name: "if-range mismatch", path: seed, header: http.Header{"Range": {"bytes=0-99"}, "If-Range": {`"other"`}}, status: 200, body: data},
		{name: "if-none-match", path: seed, header: http.Header{"If-None-Match": {etag}}, status: 304, body: []byte{}},
		{name: "preflight", method: http.MethodOptions, path: seed,
			header: http.Header{"Origin": {"https://player.example"}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"range"}},
			status: 204, body: []byte{}, want: with(cors, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS",
				"Access-Control-Allow-Headers", "Range, If-Range, If-None-Match, If-Modified-Since, Cache-Control, User-Agent", "Access-Control-Max-Age", "86400")},
		{name: "torrent", path: seed + "?torrent", status: 200, body: mi,
			want: with(cors, "Content-Type", "application/x-bittorrent", "Content-Disposition", "attachment; filename=ep3.mp3.torrent")},
		{name: "torrent file CORS", path: "/torrents/" + fx.ready + ".torrent", status: 200, body: mi,
			want: map[string]string{"Access-Control-Allow-Origin": "*"}},
		{name: "escaped name", path: web.URLs{}.WebSeed(oddIH, odd), status: 200, body: oddData},
		{name: "escaped name range", path: web.URLs{}.WebSeed(oddIH, odd), header: http.Header{"Range": {"bytes=5-9"}}, status: 206, body: oddData[5:10]},
		{name: "wrong name", path: "/webseed/" + fx.ready + "/ep4.mp3", status: 404, want: cors},
		{name: "unknown infohash", path: "/webseed/0123456789abcdef0123456789abcdef01234567/ep3.mp3", status: 404},
		{name: "not hex", path: "/webseed/" + strings.Repeat("z", 40) + "/ep3.mp3", status: 404},
		{name: "no name", path: "/webseed/" + fx.ready + "/", status: 404},
		{name: "sub path", path: "/webseed/" + fx.ready + "/ep3.mp3/x", status: 404},
		{name: "POST", method: http.MethodPost, path: seed, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := doNoRedirect(t, noRedirects(srv), cmpOr(tt.method, http.MethodGet), srv.URL+tt.path, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("got status %d, want %d; body %.200q", resp.StatusCode, tt.status, body)
			}
			if tt.body != nil && !bytes.Equal(body, tt.body) {
				t.Errorf("body: got %d bytes, want %d (equal: false)", len(body), len(tt.body))
			}
			for k, v := range tt.want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: got %q, want %q", k, got, v)
				}
			}
		})
	}
	if s := logs.String(); s != "" {
		t.Errorf("client errors were logged:\n%s", s)
	}
}

// TestWebSeedBrokenCopy: a missing or truncated copy is a logged 500, never
// a short body presented as the file.
func TestWebSeedBrokenCopy(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	copies := mustWriteCopies(t, fx)
	tor, err := fx.store.FindTorrentByInfoHash(t.Context(), fx.ready)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T)
		wantLog string
	}{
		{"missing", func(t *testing.T) {
			if err := os.Remove(tor.DataPath); err != nil {
				t.Fatal(err)
			}
		}, "no such file"},
		{"truncated", func(t *testing.T) {
			if err := os.WriteFile(tor.DataPath, copies[fx.ready][:1000], 0o644); err != nil {
				t.Fatal(err)
			}
		}, fmt.Sprintf("has 1000 bytes, want %d", len(copies[fx.ready]))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.prepare(t)
			logs := &lockedBuffer{}
			srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), logs)
			resp, body := doNoRedirect(t, srv.Client(), http.MethodGet, srv.URL+"/webseed/"+fx.ready+"/ep3.mp3", nil)
			if resp.StatusCode != 500 || string(body) != "internal server error\n" {
				t.Errorf("got %d %q, want 500 internal server error", resp.StatusCode, body)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, logs.String())
			}
		})
	}
}

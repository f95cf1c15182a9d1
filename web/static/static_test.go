package static_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/podseed/podseed/templates"
	"github.com/podseed/podseed/web/static"
)

func get(t *testing.T, srv *httptest.Server, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static", static.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path, contentType, contains string
	}{
		{"/static/player.html", "text/html; charset=utf-8", `src="player.js"`},
		{"/static/player.js", "text/javascript; charset=utf-8", `from './vendor/webtorrent.min.js'`},
		{"/static/vendor/webtorrent.min.js", "text/javascript; charset=utf-8", "export{"},
		{"/static/vendor/sw.min.js", "text/javascript; charset=utf-8", "webtorrent/"},
		{"/static/vendor/LICENSE", "text/plain; charset=utf-8", "MIT"},
		{"/static/vendor/VERSION", "text/plain; charset=utf-8", "webtorrent 3.0.21"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, srv, tt.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.contentType)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q", got)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
			if got, want := resp.Header.Get("Service-Worker-Allowed"), map[bool]string{true: "/static/"}[strings.HasSuffix(tt.path, "sw.min.js")]; got != want {
				t.Errorf("Service-Worker-Allowed: got %q, want %q", got, want)
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			resp, body = get(t, srv, tt.path, map[string]string{"If-None-Match": etag})
			if resp.StatusCode != http.StatusNotModified || body != "" {
				t.Errorf("revalidation: got %d with %d bytes, want 304", resp.StatusCode, len(body))
			}
		})
	}
	for _, path := range []string{"/static/", "/static/vendor/", "/static/webtorrent/", "/static/nope.js", "/static/static.go", "/static/../static.go"} {
		if resp, _ := get(t, srv, path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: got %d, want 404", path, resp.StatusCode)
		}
	}
}

// TestPlayerTemplateEmbedsPlayer: the template's iframe points, relative
// to /episodes/{id}, at the embedded player page.
func TestPlayerTemplateEmbedsPlayer(t *testing.T) {
	b, err := templates.FS.ReadFile("player.html")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<iframe[^>]* src="\.\./static/([^"?]+)\?infohash=`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no player iframe in templates/player.html:\n%s", b)
	}
	if _, err := static.FS.Open(string(m[1])); err != nil {
		t.Fatalf("iframe points at %q: %v", m[1], err)
	}
}

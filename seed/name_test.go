package seed

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("a", 300)
	longUTF8 := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"plain", "https://cdn.example.com/podcast/ep-12.mp3", "ep-12.mp3"},
		{"query and fragment ignored", "https://cdn.example.com/ep.mp3?token=s3cret&x=1#t=10", "ep.mp3"},
		{"escaped space", "https://h/My%20Episode%201.mp3", "My Episode 1.mp3"},
		{"escaped slash", "https://h/dir/a%2Fb.mp3", "a_b.mp3"},
		{"escaped traversal", "https://h/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "_._etc_passwd"},
		{"dot dot segment", "https://h/a/..", "episode"},
		{"backslash traversal", `https://h/..%5C..%5Cwin.ini`, "_._win.ini"},
		{"leading dots", "https://h/.hidden.mp3", "hidden.mp3"},
		{"double dots inside", "https://h/a..b...mp3", "a.b.mp3"},
		{"control chars", "https://h/a%00b%0Ac%1Fd%7F.mp3", "abcd.mp3"},
		{"bidi override", "https://h/evil%E2%80%AEpm3.exe", "evilpm3.exe"},
		{"windows reserved", `https://h/a%3Ab%2Ac%3F%22%3C%3E%7C.mp3`, "a_b_c_____.mp3"},
		{"invalid utf8", "https://h/a%FFb.mp3", "a_b.mp3"},
		{"bad escape kept raw", "https://h/a%zzb.mp3", "a%zzb.mp3"},
		{"trailing slash", "https://h/show/episode-3/", "episode-3"},
		{"no path", "https://h", "episode"},
		{"root", "https://h/", "episode"},
		{"only dots", "https://h/...", "episode"},
		{"spaces trimmed", "https://h/%20%20ep.mp3%20", "ep.mp3"},
		{"empty", "", "episode"},
		{"not a url", "::not a url/ep.mp3?x", "ep.mp3"},
		{"long keeps extension", "https://h/" + long + ".mp3", strings.Repeat("a", 196) + ".mp3"},
		{"long without extension", "https://h/" + long, strings.Repeat("a", 200)},
		{"long utf8 rune boundary", "https://h/" + longUTF8 + ".m4a", strings.Repeat("é", 98) + ".m4a"},
		{"long extension is not kept", "https://h/" + long + "." + strings.Repeat("x", 30), strings.Repeat("a", 200)},
		{"unicode kept", "https://h/%C3%A9pisode-%E2%84%961.ogg", "épisode-№1.ogg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SanitizeName(tt.url)
			if got != tt.want {
				t.Errorf("SanitizeName(%q) = %q, want %q", tt.url, got, tt.want)
			}
			checkSafeName(t, got)
		})
	}
}

func TestSanitizeTorrentName(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Episode 1.mp3", "Episode 1.mp3"},
		{"../../etc/passwd", "_._etc_passwd"},
		{"a%2Fb", "a%2Fb"}, // a given name is not unescaped
		{"  .x  ", "x"},
		{"", "episode"},
	}
	for _, tt := range tests {
		if got := sanitizeTorrentName(tt.in); got != tt.want {
			t.Errorf("sanitizeTorrentName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// checkSafeName fails t unless name satisfies what SanitizeName promises.
func checkSafeName(t *testing.T, name string) {
	t.Helper()
	switch {
	case name == "":
		t.Errorf("name is empty")
	case len(name) > nameMaxBytes:
		t.Errorf("name %q has %d bytes, want at most %d", name, len(name), nameMaxBytes)
	case !utf8.ValidString(name):
		t.Errorf("name %q is not valid UTF-8", name)
	case strings.ContainsAny(name, `/\`):
		t.Errorf("name %q contains a path separator", name)
	case strings.Contains(name, ".."):
		t.Errorf("name %q contains ..", name)
	case strings.HasPrefix(name, "."):
		t.Errorf("name %q starts with a dot", name)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || nameIsBidiControl(r) }) >= 0:
		t.Errorf("name %q contains a control character", name)
	}
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{
		"https://h/ep.mp3", "https://h/%2e%2e%2f", "https://h/a%00b", "..", "/", "",
		"https://h/" + strings.Repeat("ü", 120) + ".mp3", "https://h/.%20.%20./x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		checkSafeName(t, SanitizeName(raw))
		checkSafeName(t, sanitizeTorrentName(raw))
	})
}

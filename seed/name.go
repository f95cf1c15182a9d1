package seed

import (
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// nameMaxBytes bounds a torrent/file name in bytes (UTF-8), extension included.
	nameMaxBytes = 200
	// nameMaxExtBytes is the longest suffix after the last dot that is kept as an
	// extension when a name is shortened; anything longer is not an extension.
	nameMaxExtBytes = 16
	// nameFallback is used when nothing usable is left of a name.
	nameFallback = "episode"
)

// SanitizeName turns the last non-empty path segment of rawURL into a name that
// is safe both as a single file name below files/<infohash>/ and as the `name`
// of a single-file torrent (BEP 3). The query string and fragment are ignored.
//
// The segment is URL-unescaped (so %2F becomes a separator and is then
// replaced), and then: invalid UTF-8, path separators (/ and \) and characters
// Windows forbids (<>:"|?*) become "_"; control characters and bidirectional
// overrides are dropped; runs of dots collapse to one, so ".." never appears;
// leading dots and spaces and trailing dots and spaces are trimmed; the result
// is cut to at most 200 bytes on a rune boundary, keeping a short extension.
// The result is never empty: "episode" stands in for nothing.
func SanitizeName(rawURL string) string {
	seg := nameLastSegment(rawURL)
	if s, err := url.PathUnescape(seg); err == nil {
		seg = s
	}
	return sanitizeTorrentName(seg)
}

// nameLastSegment returns the still-escaped last non-empty path segment of rawURL.
func nameLastSegment(rawURL string) string {
	var p string
	if u, err := url.Parse(rawURL); err == nil {
		p = u.EscapedPath()
	} else {
		// Not a URL Go accepts; take what looks like its path anyway.
		p = rawURL
		if i := strings.IndexAny(p, "?#"); i >= 0 {
			p = p[:i]
		}
	}
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// sanitizeTorrentName applies the rules of SanitizeName (everything but the URL
// handling) to an already unescaped name.
func sanitizeTorrentName(s string) string {
	s = strings.ToValidUTF8(s, "_")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '/' || r == '\\' || strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		case unicode.IsControl(r) || nameIsBidiControl(r):
			// dropped
		default:
			b.WriteRune(r)
		}
	}
	s = b.String()
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", ".")
	}
	s = strings.TrimRightFunc(strings.TrimLeftFunc(s, nameIsTrimmed), nameIsTrimmed)
	s = nameTruncate(s, nameMaxBytes)
	if s == "" {
		return nameFallback
	}
	return s
}

// nameIsTrimmed reports whether r may not start or end a name.
func nameIsTrimmed(r rune) bool { return r == '.' || unicode.IsSpace(r) }

// nameIsBidiControl reports whether r is an invisible bidirectional formatting
// character, which can make "evil\u202Eexe.mp3" look like it ends in ".mp3".
func nameIsBidiControl(r rune) bool {
	switch {
	case r == '\u200E' || r == '\u200F' || r == '\u061C':
		return true
	case r >= '\u202A' && r <= '\u202E':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// nameTruncate cuts s to at most maxBytes bytes on a rune boundary, keeping
// an extension of up to nameMaxExtBytes bytes.
func nameTruncate(s string, maxBytes int) string {
	if len(s) <= maxBytes {
		return s
	}
	ext := path.Ext(s)
	if len(ext) > nameMaxExtBytes || len(ext) == len(s) {
		ext = ""
	}
	stem := s[:len(s)-len(ext)]
	cut := maxBytes - len(ext)
	for cut > 0 && !utf8.RuneStart(stem[cut]) {
		cut--
	}
	stem = strings.TrimRightFunc(stem[:cut], nameIsTrimmed)
	if stem == "" {
		return strings.TrimLeftFunc(ext, nameIsTrimmed)
	}
	return stem + ext
}

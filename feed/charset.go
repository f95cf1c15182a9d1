package feed

import (
	"bytes"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	// xmlDeclVersion matches the start of an XML declaration up to and including
	// its version pseudo-attribute, after which an encoding declaration
	// goes (XML 1.0 §2.8, [23] XMLDecl).
	xmlDeclVersion = regexp.MustCompile(`^<\?xml\s+version\s*=\s*(?:"[^"]*"|'[^']*')`)
	// xmlDeclEncoding finds an encoding declaration in an XML declaration.
	xmlDeclEncoding = regexp.MustCompile(`^<\?xml[^>]*?\sencoding\s*=`)
	// charsetLabel is what DeclareCharset accepts as a charset name (the
	// EncName production of XML 1.0 §4.3.3).
	charsetLabel = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*$`)
)

// DeclareCharset returns body with an encoding declaration naming the
// charset parameter of contentType (the feed response's Content-Type
// header, [Result.ContentType]), when the body needs one to be read right:
// it is not valid UTF-8, has no byte order mark and no encoding
// declaration of its own, and contentType names a charset other than
// UTF-8. RFC 7303 §3.2 makes that parameter authoritative for XML served
// over HTTP, but [Parse] and a subscriber reading the republished feed see
// only the bytes; with the declaration they read them as the publisher
// served them. The encoding pseudo-attribute is inserted after the
// version in an existing XML declaration, or a declaration
// `<?xml version="1.0" encoding="…"?>` is put in front; every other byte
// is kept. In every other case body itself is returned: a valid UTF-8 body
// is kept as it is even when the header says otherwise, since servers
// that default text/* to ISO-8859-1 are more common than feeds whose bytes
// happen to be valid UTF-8 in another charset.
func DeclareCharset(body []byte, contentType string) []byte {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return body
	}
	label := strings.TrimSpace(params["charset"])
	switch strings.ToLower(label) {
	case "", "utf-8", "utf8":
		return body
	}
	if !charsetLabel.MatchString(label) || utf8.Valid(body) ||
		bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}) || bytes.HasPrefix(body, []byte{0xFE, 0xFF}) ||
		bytes.HasPrefix(body, []byte{0xFF, 0xFE}) || xmlDeclEncoding.Match(body) {
		return body
	}
	enc := ` encoding="` + label + `"`
	if loc := xmlDeclVersion.FindIndex(body); loc != nil {
		out := make([]byte, 0, len(body)+len(enc))
		out = append(out, body[:loc[1]]...)
		out = append(out, enc...)
		return append(out, body[loc[1]:]...)
	}
	if bytes.HasPrefix(body, []byte("<?xml")) {
		return body // a declaration without a version: not XML to fix up
	}
	decl := `<?xml version="1.0"` + enc + `?>`
	return append([]byte(decl), body...)
}

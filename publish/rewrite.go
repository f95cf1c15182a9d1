package publish

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Namespace URIs of the Podcasting 2.0 namespace. The specification
// (https://podcastindex.org/namespace/1.0) says clients must treat the
// original GitHub URI as identical to the current one.
const (
	podcastNS       = "https://podcastindex.org/namespace/1.0"
	podcastNSLegacy = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
	podcastPrefix   = "podcast"
)

// torrentContentType is the media type of a .torrent file (metainfo), used
// for the torrent source of an alternate enclosure and the enclosures of
// the torrent feed.
const torrentContentType = "application/x-bittorrent"

// alternateTitle is the title attribute of the alternate enclosures
// RewriteFeed inserts; it names the delivery method to listeners.
const alternateTitle = "BitTorrent"

// Alternate is what podseed made for one episode: the torrent of the
// episode's enclosure, seeded with the original enclosure URL as web seed.
type Alternate struct {
	// GUID is the item's <guid> text, trimmed, or "" if the item had none.
	GUID string
	// EnclosureURL is the item's original <enclosure> url, trimmed. It
	// matches items that have no GUID, and is the first source listed.
	EnclosureURL string
	// Type is the media type of the file, e.g. "audio/mpeg".
	Type string
	// Length is the size of the file in bytes.
	Length int64
	// TorrentURL is the absolute URL of the .torrent file.
	TorrentURL string
	// TorrentLength is the size of the .torrent file in bytes.
	TorrentLength int64
	// Magnet is the full magnet URI, already built by the caller.
	Magnet string
	// InfoHash is the hex-encoded BitTorrent v1 infohash.
	InfoHash string
	// SRI is the Subresource Integrity string of the file,
	// "sha256-<base64 digest>".
	SRI string
	// Title is the episode title, used by TorrentFeed.
	Title string
	// Published is when the episode was published, used by TorrentFeed to
	// order items and as their pubDate.
	Published time.Time
}

// RewriteFeed returns original, an RSS 2.0 feed as the publisher served it,
// with a Podcasting 2.0 alternate enclosure added to every <item> that an
// Alternate matches. An item matches the Alternate with its GUID; failing
// that, an Alternate without GUID whose EnclosureURL equals the url of one
// of the item's <enclosure> elements (both trimmed). Just before the item's
// closing </item> it inserts, indented like the item:
//
//	<podcast:alternateEnclosure type="audio/mpeg" length="123" title="BitTorrent">
//	  <podcast:integrity type="sri" value="sha256-…"/>
//	  <podcast:source uri="ORIGINAL ENCLOSURE URL"/>
//	  <podcast:source uri="TORRENT URL" contentType="application/x-bittorrent"/>
//	  <podcast:source uri="MAGNET URI"/>
//	</podcast:alternateEnclosure>
//
// (element and attribute names from the podcast namespace specification,
// https://podcastindex.org/namespace/1.0; integrity is omitted when SRI is
// empty, length when Length is not positive, each source when its URI is
// empty; an empty Type falls back to the item's enclosure type).
//
// Every other byte of original is kept: the insertions are spliced in at
// offsets found by encoding/xml, and the feed is never re-serialised, so the
// original <enclosure>, prefixes, CDATA, comments, the DOCTYPE and the
// publisher's formatting stay as they were. One deliberate exception: a
// DOCTYPE whose internal subset declares entities (entity-expansion bombs,
// external entities) loses that subset, "<!DOCTYPE rss [ … ]>" becoming
// "<!DOCTYPE rss>" (an external ID stays), and each reference to an entity
// it declared, in text and attribute values, becomes what feed.Parse reads
// there: "&name;" literally (written "&amp;name;"), or for an HTML entity
// name the character reference of its character. The only other change is the
// namespace declaration xmlns:podcast="https://podcastindex.org/namespace/1.0",
// added to the <rss> start tag unless <rss> already declares the namespace
// (under its current or its original GitHub URI, under any prefix, whose
// prefix is then used). If <rss> binds "podcast" to another URI, the prefix
// "podcast2" (or the next free number) is declared instead; where an element
// inside the feed rebinds the prefix, the inserted element declares it again.
// The declaration is added even when no item matches.
//
// Input that is not RSS (its root element is not <rss>, e.g. Atom or RSS
// 1.0) is returned unchanged, as a copy, but for the DOCTYPE defused as
// above. Items elsewhere than <rss><channel>
// and empty <item/> elements are left alone.
//
// The feed is read like gofeed reads it: non-strict, so undefined entities
// and bare ampersands in text pass; the predefined and HTML entities are
// decoded, entities declared in the DOCTYPE are neither expanded nor
// fetched, so a GUID that uses one matches an Alternate with the reference
// literally in it ("&ep;-2"). Encodings other than UTF-8 are read from the XML
// declaration: windows-1252 and its WHATWG aliases (ISO-8859-1, US-ASCII) are
// decoded exactly; other ASCII-compatible encodings (other ISO-8859 and
// windows code pages, Shift_JIS, EUC, GBK, Big5 …) are read with their
// non-ASCII characters unknown, so only ASCII GUIDs and URLs match there. In
// feeds that are not UTF-8, non-ASCII characters in the inserted values are
// written as character references. A UTF-8 byte order mark is allowed.
//
// RewriteFeed returns an error, and no feed, when original cannot be
// tokenised (for example truncated input, which fails with an
// *xml.SyntaxError), has no root element, or is in an unsupported encoding
// such as UTF-16.
func RewriteFeed(original []byte, alts []Alternate, opts ...Option) ([]byte, error) {
	edits, err := planRewrite(original, alts, opts...)
	if err != nil {
		return nil, fmt.Errorf("rewrite feed: %w", err)
	}
	return applyEdits(original, edits), nil
}

// Option adjusts RewriteFeed.
type Option func(*rewriteOptions)

type rewriteOptions struct {
	base *url.URL // resolves relative enclosure URLs; nil = none
}

// WithBaseURL makes RewriteFeed resolve relative enclosure URLs in the feed
// against base (the feed's own URL, RFC 3986 §5.2) before matching them
// with Alternate.EnclosureURL, which feed parsers report resolved. Items
// without a <guid> and with a relative enclosure URL match only with it. An
// unparsable or relative base is ignored.
func WithBaseURL(base string) Option {
	return func(o *rewriteOptions) {
		if u, err := url.Parse(base); err == nil && u.IsAbs() {
			o.base = u
		}
	}
}

// edit replaces the del bytes of the original feed at byte offset off
// with text (an insertion when del is 0).
type edit struct {
	off  int
	del  int
	text []byte
}

// applyEdits returns a new slice: src with edits, sorted by offset and not
// overlapping, applied.
func applyEdits(src []byte, edits []edit) []byte {
	n := len(src)
	for _, e := range edits {
		n += len(e.text)
	}
	out := make([]byte, 0, n)
	prev := 0
	for _, e := range edits {
		out = append(out, src[prev:e.off]...)
		out = append(out, e.text...)
		prev = e.off + e.del
	}
	return append(out, src[prev:]...)
}

var errNoRoot = errors.New("no root element")

// nsBinding is one namespace declaration, xmlns:prefix="uri".
type nsBinding struct{ prefix, uri string }

// frame is an open element and the prefixes it declares.
type frame struct {
	name xml.Name
	ns   []nsBinding
}

// itemState collects what identifies the <item> being read.
type itemState struct {
	guid    []byte // character data of the first <guid>
	inGUID  bool
	hasGUID bool
	urls    []string // trimmed url of each <enclosure>
	encType string   // type of the first <enclosure> with one
}

// planRewrite reads original and returns the insertions RewriteFeed makes,
// in increasing offset order; none for a feed that is not RSS.
func planRewrite(original []byte, alts []Alternate, opts ...Option) ([]edit, error) {
	var o rewriteOptions
	for _, opt := range opts {
		opt(&o)
	}
	src, err := readSource(original)
	if err != nil {
		return nil, err
	}
	byGUID, byURL := indexAlternates(alts)

	// The entities feed.Parse (gofeed) decodes: XML's and HTML's. Those a
	// DOCTYPE declares stay literal text there, so GUIDs that use them
	// match only if they stay literal here too.
	dec := xml.NewDecoder(bytes.NewReader(src.work))
	dec.Strict = false
	dec.Entity = xml.HTMLEntity
	// src.work is UTF-8 already, whatever the declaration says.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }

	var (
		stack  []frame
		root   xml.Name
		seen   bool // root element seen
		prefix string
		item   *itemState
		edits  []edit
		// defuse rewrites references to the entities of a hostile DOCTYPE
		// (rewrite_dtd.go); nil when there is none.
		defuse *dtdDefuser
		// other is true for a root element other than <rss> in a feed
		// being defused: nothing but the references is rewritten.
		other bool
	)
	for {
		start := int(dec.InputOffset()) // where the token begins, in src.work
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		end := int(dec.InputOffset()) // just past the token, in src.work
		switch t := tok.(type) {
		case xml.Directive:
			if e, d, ok := defuseDTD(src, start, src.work[start:end]); ok && !seen && defuse == nil {
				edits = append(edits, e)
				defuse = d
			}

		case xml.StartElement:
			if defuse != nil {
				edits = append(edits, defuse.edits(src, start, src.work[start:end])...)
			}
			if other {
				continue
			}
			f := frame{name: t.Name, ns: nsDecls(t.Attr)}
			depth := len(stack)
			if depth == 0 && !seen {
				if t.Name.Local != "rss" {
					if defuse == nil {
						return nil, nil // Atom, RSS 1.0 …: left as it is
					}
					seen, other = true, true
					continue
				}
				seen, root = true, t.Name
				var declared bool
				prefix, declared = choosePrefix(f.ns)
				if !declared {
					f.ns = append(f.ns, nsBinding{prefix, podcastNS})
					at := end - 1 // before '>' …
					if src.work[end-2] == '/' {
						at = end - 2 // … or before "/>"
					}
					decl := ` xmlns:` + prefix + `="` + podcastNS + `"`
					edits = append(edits, edit{off: src.origOffset(at), text: []byte(decl)})
				}
			}
			stack = append(stack, f)
			switch {
			case depth == 2 && t.Name == xml.Name{Space: root.Space, Local: "item"} &&
				stack[1].name == xml.Name{Space: root.Space, Local: "channel"}:
				item = &itemState{}
			case depth == 3 && item != nil && t.Name.Space == root.Space:
				switch t.Name.Local {
				case "guid":
					if !item.hasGUID {
						item.hasGUID, item.inGUID = true, true
					}
				case "enclosure":
					for _, a := range t.Attr {
						switch {
						case a.Name.Space != "":
						case a.Name.Local == "url":
							item.urls = append(item.urls, strings.TrimSpace(a.Value))
						case a.Name.Local == "type" && item.encType == "":
							item.encType = strings.TrimSpace(a.Value)
						}
					}
				}
			}

		case xml.CharData:
			if defuse != nil && !bytes.HasPrefix(src.work[start:end], []byte("<![CDATA[")) {
				edits = append(edits, defuse.edits(src, start, src.work[start:end])...)
			}
			if item != nil && item.inGUID {
				item.guid = append(item.guid, t...)
			}

		case xml.EndElement:
			if other {
				continue
			}
			if len(stack) == 0 {
				// encoding/xml reports unbalanced end tags itself; be safe.
				return nil, errors.New("unexpected end element")
			}
			depth := len(stack) - 1
			inScope := stack // the closing element's declarations still apply inside it
			stack = stack[:depth]
			switch {
			case depth == 3 && item != nil:
				item.inGUID = false
			case depth == 2 && item != nil:
				a := item.match(byGUID, byURL, o.base)
				it := item
				item = nil
				if a == nil || src.work[end-2] == '/' { // no match, or <item/>
					continue
				}
				tagStart := bytes.LastIndexByte(src.work[:end], '<')
				e := renderAlternate(src, inScope, tagStart, prefix, a, it)
				edits = append(edits, e)
			}
		}
	}
	if !seen {
		return nil, errNoRoot
	}
	// Reference rewrites come in token order, but an alternate block may
	// go before the whitespace that precedes </item>.
	slices.SortStableFunc(edits, func(a, b edit) int { return a.off - b.off })
	return edits, nil
}

// indexAlternates indexes alts by GUID and, for those without GUID, by
// enclosure URL. The first Alternate wins a key.
func indexAlternates(alts []Alternate) (byGUID, byURL map[string]*Alternate) {
	byGUID = make(map[string]*Alternate)
	byURL = make(map[string]*Alternate)
	for i := range alts {
		a := &alts[i]
		if g := strings.TrimSpace(a.GUID); g != "" {
			if _, ok := byGUID[g]; !ok {
				byGUID[g] = a
			}
			continue
		}
		if u := strings.TrimSpace(a.EnclosureURL); u != "" {
			if _, ok := byURL[u]; !ok {
				byURL[u] = a
			}
		}
	}
	return byGUID, byURL
}

// match returns the Alternate for the item: by GUID, else by enclosure URL
// as written or, when relative, resolved against base (if not nil).
func (it *itemState) match(byGUID, byURL map[string]*Alternate, base *url.URL) *Alternate {
	if g := strings.TrimSpace(string(it.guid)); g != "" {
		if a := byGUID[g]; a != nil {
			return a
		}
	}
	for _, u := range it.urls {
		if a := byURL[u]; a != nil {
			return a
		}
		if ref, err := url.Parse(u); base != nil && err == nil && !ref.IsAbs() {
			if a := byURL[base.ResolveReference(ref).String()]; a != nil {
				return a
			}
		}
	}
	return nil
}

// nsDecls returns the prefixed namespace declarations among attrs.
func nsDecls(attrs []xml.Attr) []nsBinding {
	var ns []nsBinding
	for _, a := range attrs {
		if a.Name.Space == "xmlns" {
			ns = append(ns, nsBinding{a.Name.Local, strings.TrimSpace(a.Value)})
		}
	}
	return ns
}

func isPodcastNS(uri string) bool { return uri == podcastNS || uri == podcastNSLegacy }

// choosePrefix picks the prefix for podcast elements from the declarations
// on <rss>: one already bound to the namespace (declared is true), else
// "podcast", or "podcast2", "podcast3" … if that is taken.
func choosePrefix(decls []nsBinding) (prefix string, declared bool) {
	for _, uri := range []string{podcastNS, podcastNSLegacy} {
		for _, b := range decls {
			if b.uri == uri && b.prefix != "" && !strings.Contains(b.prefix, ":") {
				return b.prefix, true
			}
		}
	}
	bound := func(p string) bool {
		for _, b := range decls {
			if b.prefix == p {
				return true
			}
		}
		return false
	}
	prefix = podcastPrefix
	for n := 2; bound(prefix); n++ {
		prefix = podcastPrefix + strconv.Itoa(n)
	}
	return prefix, false
}

// resolve returns the URI prefix is bound to in the scope of stack.
func resolve(stack []frame, prefix string) string {
	for i := len(stack) - 1; i >= 0; i-- {
		for j := len(stack[i].ns) - 1; j >= 0; j-- {
			if b := stack[i].ns[j]; b.prefix == prefix {
				return b.uri
			}
		}
	}
	return ""
}

// renderAlternate builds the insertion for the item whose end tag starts at
// tagStart in src.work. When the end tag sits on a line of its own, the
// block goes before that line's newline, on lines of its own indented like
// the item's children (one step deeper than the end tag, the step taken
// from the line before); otherwise it goes on one line right before the end
// tag.
func renderAlternate(src *source, stack []frame, tagStart int, prefix string, a *Alternate, it *itemState) edit {
	w := src.work
	at, nl, indent := tagStart, "", ""
	i := tagStart
	for i > 0 && (w[i-1] == ' ' || w[i-1] == '\t') {
		i--
	}
	switch {
	case i > 1 && w[i-1] == '\n' && w[i-2] == '\r':
		at, nl, indent = i-2, "\r\n", string(w[i:tagStart])
	case i > 0 && (w[i-1] == '\n' || w[i-1] == '\r'):
		at, nl, indent = i-1, string(w[i-1]), string(w[i:tagStart])
	}
	step := "  "
	if strings.Contains(indent, "\t") {
		step = "\t"
	}
	if nl != "" {
		// Indent like the item's last child when its line is indented
		// deeper than the end tag.
		lineStart := bytes.LastIndexAny(w[:at], "\r\n") + 1
		last := w[lineStart:at]
		childIndent := last[:len(last)-len(bytes.TrimLeft(last, " \t"))]
		if len(childIndent) > len(indent) && bytes.HasPrefix(childIndent, []byte(indent)) {
			step = string(childIndent[len(indent):])
		}
	}
	line := func(b []byte, depth int) []byte {
		if nl == "" {
			return b
		}
		b = append(b, nl...)
		b = append(b, indent...)
		for range depth {
			b = append(b, step...)
		}
		return b
	}
	attr := func(b []byte, name, value string) []byte {
		b = append(b, ' ')
		b = append(b, name...)
		b = append(b, `="`...)
		b = appendEscaped(b, value, src.asciiOnly)
		return append(b, '"')
	}
	elem := func(b []byte, local string) []byte {
		b = append(b, '<')
		b = append(b, prefix...)
		b = append(b, ':')
		return append(b, local...)
	}

	typ := strings.TrimSpace(a.Type)
	if typ == "" {
		typ = it.encType
	}
	if typ == "" {
		typ = "application/octet-stream"
	}
	original := strings.TrimSpace(a.EnclosureURL)
	if original == "" && len(it.urls) > 0 {
		original = it.urls[0]
	}

	var b []byte
	b = line(b, 1)
	b = elem(b, "alternateEnclosure")
	b = attr(b, "type", typ)
	if a.Length > 0 {
		b = attr(b, "length", strconv.FormatInt(a.Length, 10))
	}
	b = attr(b, "title", alternateTitle)
	if !isPodcastNS(resolve(stack, prefix)) {
		b = attr(b, "xmlns:"+prefix, podcastNS)
	}
	b = append(b, '>')
	if a.SRI != "" {
		b = line(b, 2)
		b = elem(b, "integrity")
		b = attr(b, "type", "sri")
		b = attr(b, "value", a.SRI)
		b = append(b, "/>"...)
	}
	for _, s := range []struct{ uri, contentType string }{
		{original, ""},
		{a.TorrentURL, torrentContentType},
		{a.Magnet, ""},
	} {
		if s.uri == "" {
			continue
		}
		b = line(b, 2)
		b = elem(b, "source")
		b = attr(b, "uri", s.uri)
		if s.contentType != "" {
			b = attr(b, "contentType", s.contentType)
		}
		b = append(b, "/>"...)
	}
	b = line(b, 1)
	b = append(b, "</"...)
	b = append(b, prefix...)
	b = append(b, ":alternateEnclosure>"...)
	return edit{off: src.origOffset(at), text: b}
}

// appendEscaped appends s escaped for a double-quoted XML attribute value.
// Characters XML does not allow, and invalid UTF-8, become U+FFFD; with
// asciiOnly, non-ASCII characters become character references.
func appendEscaped(b []byte, s string, asciiOnly bool) []byte {
	for _, r := range s {
		switch r {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '"':
			b = append(b, "&quot;"...)
		case '\t':
			b = append(b, "&#x9;"...)
		case '\n':
			b = append(b, "&#xA;"...)
		case '\r':
			b = append(b, "&#xD;"...)
		default:
			if !isXMLChar(r) {
				r = utf8.RuneError
			}
			if asciiOnly && r >= utf8.RuneSelf {
				b = fmt.Appendf(b, "&#x%X;", r)
				continue
			}
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

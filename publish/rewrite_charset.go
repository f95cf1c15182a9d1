package publish

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// source is a feed prepared for encoding/xml, which reads only UTF-8 and
// rejects characters XML does not allow. work is what the decoder reads; it
// is the original slice itself when the feed is clean UTF-8, otherwise a
// transcoded copy whose offsets map back to the original through marks.
type source struct {
	work []byte
	// marks records, after every character whose UTF-8 form is longer than
	// its original bytes, the offset in work and in the original where the
	// next character starts. Between marks, offsets advance together.
	marks []offsetMark
	// asciiOnly is true when the feed is not UTF-8: inserted text must then
	// be ASCII, with character references for anything else.
	asciiOnly bool
}

type offsetMark struct{ work, orig int }

// origOffset maps an offset in s.work that lies on a character boundary
// (every offset podseed splices at is next to '<', '>' or ASCII whitespace)
// back to the original bytes.
func (s *source) origOffset(w int) int {
	i := sort.Search(len(s.marks), func(i int) bool { return s.marks[i].work > w }) - 1
	if i < 0 {
		return w
	}
	return s.marks[i].orig + (w - s.marks[i].work)
}

// charsetKind says how to turn a feed's bytes into UTF-8 for encoding/xml.
type charsetKind int

const (
	charsetUTF8        charsetKind = iota // UTF-8 (and no declaration at all)
	charsetWindows1252                    // windows-1252, and the labels WHATWG maps to it (ISO-8859-1, US-ASCII)
	charsetOpaque                         // other ASCII-compatible encodings: non-ASCII bytes become U+FFFD
)

var (
	utf8BOM      = []byte{0xEF, 0xBB, 0xBF}
	encodingDecl = regexp.MustCompile(`^<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']`)
	errUTF16     = errors.New("unsupported encoding: UTF-16 or UTF-32")
)

// labels from the WHATWG Encoding Standard that decode as windows-1252.
var windows1252Labels = []string{
	"ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819",
	"iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1",
	"iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252", "x-cp1252",
}

// prefixes of encodings whose bytes below 0x80 are ASCII and never part of
// a multi-byte character that could contain '<', '>', '&' or a quote, so
// that the markup is readable without knowing the non-ASCII characters.
var opaqueLabelPrefixes = []string{
	"iso-8859-", "iso8859-", "iso_8859-", "iso8859", "windows-125", "cp125",
	"x-cp125", "windows-874", "koi8", "macintosh", "x-mac-", "ibm866", "cp866",
	"shift_jis", "shift-jis", "sjis", "x-sjis", "windows-31j", "ms_kanji",
	"euc-", "gb2312", "gbk", "gb18030", "big5", "tis-620", "ks_c_5601",
}

// classifyCharset reports how to read a feed that declares label.
func classifyCharset(label string) (charsetKind, error) {
	l := strings.ToLower(strings.TrimSpace(label))
	switch {
	case l == "" || l == "utf-8" || l == "utf8" || l == "unicode-1-1-utf-8":
		return charsetUTF8, nil
	case slices.Contains(windows1252Labels, l):
		return charsetWindows1252, nil
	}
	for _, p := range opaqueLabelPrefixes {
		if strings.HasPrefix(l, p) {
			return charsetOpaque, nil
		}
	}
	return 0, fmt.Errorf("unsupported encoding %q", label)
}

// readSource prepares original for encoding/xml. A UTF-8 byte order mark
// wins over the declaration; UTF-16 and UTF-32 feeds are refused.
func readSource(original []byte) (*source, error) {
	kind := charsetUTF8
	if !bytes.HasPrefix(original, utf8BOM) {
		head := original[:min(len(original), 4)]
		if bytes.HasPrefix(head, []byte{0xFE, 0xFF}) || bytes.HasPrefix(head, []byte{0xFF, 0xFE}) ||
			bytes.IndexByte(head, 0) >= 0 {
			return nil, errUTF16
		}
		decl := bytes.TrimLeft(original[:min(len(original), 1024)], " \t\r\n")
		if m := encodingDecl.FindSubmatch(decl); m != nil {
			k, err := classifyCharset(string(m[1]))
			if err != nil {
				return nil, err
			}
			kind = k
		}
	}
	if kind == charsetUTF8 && cleanUTF8(original) {
		return &source{work: original}, nil
	}
	return transcode(original, kind), nil
}

// cleanUTF8 reports whether b is valid UTF-8 holding only characters XML
// allows, so encoding/xml can read it as it is.
func cleanUTF8(b []byte) bool {
	for i := 0; i < len(b); {
		if c := b[i]; c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
			return false
		}
		i += n
	}
	return true
}

// transcode converts original to clean UTF-8. Characters XML forbids become
// U+FFFD (control characters below U+0020 become a space, which keeps the
// length); so do undecodable bytes. The markup is ASCII in every supported
// encoding, so it survives unchanged and the offsets of tags map back
// exactly.
func transcode(original []byte, kind charsetKind) *source {
	s := &source{work: make([]byte, 0, len(original)+len(original)/8), asciiOnly: kind != charsetUTF8}
	for i := 0; i < len(original); {
		c := original[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				c = ' '
			}
			s.work = append(s.work, c)
			i++
			continue
		}
		var r rune
		n := 1
		switch kind {
		case charsetUTF8:
			r, n = utf8.DecodeRune(original[i:])
			if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
				r = utf8.RuneError
			}
		case charsetWindows1252:
			r = windows1252(c)
		default:
			r = utf8.RuneError
		}
		s.work = utf8.AppendRune(s.work, r)
		i += n
		if utf8.RuneLen(r) != n {
			s.marks = append(s.marks, offsetMark{work: len(s.work), orig: i})
		}
	}
	return s
}

// windows1252High holds the characters windows-1252 puts at 0x80–0x9F
// (WHATWG mapping; the five unassigned bytes map to C1 controls). Bytes from
// 0xA0 are the Latin-1 code points.
var windows1252High = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

func windows1252(c byte) rune {
	if c >= 0x80 && c < 0xA0 {
		return windows1252High[c-0x80]
	}
	return rune(c)
}

// isXMLChar reports whether r is a Char in the XML 1.0 grammar.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

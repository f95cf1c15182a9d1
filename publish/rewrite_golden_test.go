package publish

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.xml from the current output")

// TestRewriteFeedGolden rewrites every real feed in testdata with
// Alternates for all of its episodes and proves that only the intended bytes
// changed.
func TestRewriteFeedGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.xml")
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".xml"), func(t *testing.T) {
			t.Parallel()
			original, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			origFeed := mustParseFeed(t, original)
			alts := altsFromFeed(origFeed)

			out, err := RewriteFeed(original, alts)
			if err != nil {
				t.Fatalf("RewriteFeed: %v", err)
			}

			isRSS := origFeed.FeedType == "rss"
			if !isRSS {
				if !bytes.Equal(out, original) {
					t.Fatalf("non-RSS feed (%s) changed", origFeed.FeedType)
				}
			}

			// (1) The output parses with gofeed, and is as well-formed as
			// the original for encoding/xml and xmllint.
			outFeed := mustParseFeed(t, out)
			if got, want := len(outFeed.Items), len(origFeed.Items); got != want {
				t.Fatalf("items after rewrite: got %d, want %d", got, want)
			}
			if err := wellFormed(original); err == nil {
				if err := wellFormed(out); err != nil {
					t.Errorf("original is well-formed, output is not: %v", err)
				}
			} else {
				t.Logf("original is not well-formed (%v); checked leniently", err)
			}
			checkXMLLint(t, original, out)

			// (2) Taking out the inserted blocks and the namespace
			// declaration gives back the original, byte for byte.
			stripped, blocks := stripInsertions(t, out, original)
			if !bytes.Equal(stripped, original) {
				t.Fatalf("output minus insertions differs from original at byte %d", firstDiff(stripped, original))
			}
			withEnclosure := 0
			for _, it := range origFeed.Items {
				if len(it.Enclosures) > 0 {
					withEnclosure++
				}
			}
			if isRSS && blocks != withEnclosure {
				t.Errorf("inserted blocks: got %d, want %d (items with an enclosure)", blocks, withEnclosure)
			}

			// (3) Each item with an enclosure has exactly one new
			// alternate enclosure, with the right sources.
			if isRSS {
				checkAlternates(t, origFeed, outFeed, alts)
			}

			// (4) Golden file.
			golden := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("output differs from %s at byte %d (run with -update after checking the change)", golden, firstDiff(out, want))
			}
		})
	}
}

// altsFromFeed makes what podseed would make for every item with an
// enclosure, with fake but deterministic torrent data. Magnets carry '&' so
// that escaping is exercised.
func altsFromFeed(f *gofeed.Feed) []Alternate {
	var alts []Alternate
	for i, it := range f.Items {
		if len(it.Enclosures) == 0 {
			continue
		}
		enc := it.Enclosures[0]
		encURL := strings.TrimSpace(enc.URL)
		guid := strings.TrimSpace(it.GUID)
		sum := sha1.Sum([]byte(guid + "\x00" + encURL))
		ih := hex.EncodeToString(sum[:])
		length, err := strconv.ParseInt(strings.TrimSpace(enc.Length), 10, 64)
		if err != nil || length <= 0 {
			length = 1_000_000 + int64(i)
		}
		digest := sha256.Sum256([]byte(encURL))
		torrentURL := "https://podseed.example/torrents/" + ih + ".torrent"
		a := Alternate{
			GUID:          guid,
			EnclosureURL:  encURL,
			Type:          enc.Type,
			Length:        length,
			TorrentURL:    torrentURL,
			TorrentLength: 20_000 + int64(i),
			Magnet: "magnet:?xt=urn:btih:" + ih +
				"&dn=" + url.QueryEscape(path.Base(encURL)) +
				"&tr=" + url.QueryEscape("https://podseed.example/announce") +
				"&ws=" + url.QueryEscape(encURL) +
				"&xs=" + url.QueryEscape(torrentURL),
			InfoHash: ih,
			SRI:      "sha256-" + base64.StdEncoding.EncodeToString(digest[:]),
			Title:    it.Title,
		}
		if it.PublishedParsed != nil {
			a.Published = *it.PublishedParsed
		}
		alts = append(alts, a)
	}
	return alts
}

func mustParseFeed(tb testing.TB, data []byte) *gofeed.Feed {
	tb.Helper()
	f, err := gofeed.NewParser().Parse(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("gofeed: %v", err)
	}
	return f
}

// wellFormed decodes data with a strict encoding/xml decoder: no HTML
// entities, balanced tags. Non-UTF-8 declarations are read as UTF-8, which
// the feeds in testdata are.
func wellFormed(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// checkXMLLint runs xmllint --noout on the output when xmllint is on PATH
// and accepts the original (it fails on CI=true when xmllint is missing).
func checkXMLLint(t *testing.T, original, out []byte) {
	t.Helper()
	lint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not on PATH (required when CI=true)")
		}
		t.Log("xmllint not on PATH; skipping that check")
		return
	}
	dir := t.TempDir()
	run := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		msg, err := exec.Command(lint, "--noout", "--nonet", p).CombinedOutput()
		if err != nil {
			return errors.New(firstLine(string(msg)))
		}
		return nil
	}
	if err := run("original.xml", original); err != nil {
		t.Logf("xmllint rejects the original too (%v); not checked", err)
		return
	}
	if err := run("out.xml", out); err != nil {
		t.Errorf("xmllint rejects the output: %v", err)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

var (
	// addedNamespace matches the declaration RewriteFeed adds to <rss>.
	addedNamespace = regexp.MustCompile(` xmlns:[A-Za-z_][\w.-]*="https://podcastindex\.org/namespace/1\.0"`)
	rssStartTag    = regexp.MustCompile(`<rss[\s>/][^>]*>`)
)

// findInsertedBlocks returns the [start, end) ranges of the alternate
// enclosure blocks RewriteFeed inserts (title "BitTorrent"), each with the
// newline and indentation put before it. It scans with bytes.Index rather
// than a regexp, which is slow under -race on large feeds.
func findInsertedBlocks(data []byte) [][2]int {
	const title = ` title="BitTorrent"`
	var blocks [][2]int
	for pos := 0; ; {
		i := bytes.Index(data[pos:], []byte(title))
		if i < 0 {
			return blocks
		}
		i += pos
		lt := bytes.LastIndexByte(data[:i], '<')
		name, _, ok := bytes.Cut(data[lt+1:i], []byte(" "))
		prefix, local, _ := bytes.Cut(name, []byte(":"))
		if !ok || string(local) != "alternateEnclosure" || bytes.ContainsAny(data[lt:i], ">") {
			pos = i + len(title)
			continue
		}
		closing := []byte("</" + string(prefix) + ":alternateEnclosure>")
		j := bytes.Index(data[i:], closing)
		if j < 0 {
			return blocks
		}
		end := i + j + len(closing)
		start := lt
		k := start
		for k > 0 && (data[k-1] == ' ' || data[k-1] == '\t') {
			k--
		}
		switch {
		case k > 1 && data[k-2] == '\r' && data[k-1] == '\n':
			start = k - 2
		case k > 0 && (data[k-1] == '\n' || data[k-1] == '\r'):
			start = k - 1
		}
		blocks = append(blocks, [2]int{start, end})
		pos = end
	}
}

// stripInsertions removes from out every inserted alternate enclosure block
// (those the original already had are not "BitTorrent" ones) and, when the
// original <rss> did not declare the podcast namespace, the declaration
// added to it. It returns the rest and the number of blocks removed.
func stripInsertions(tb testing.TB, out, original []byte) ([]byte, int) {
	tb.Helper()
	if len(findInsertedBlocks(original)) > 0 {
		tb.Fatal("original already holds a block that looks inserted; the test cannot tell them apart")
	}
	blocks := findInsertedBlocks(out)
	var stripped []byte
	prev := 0
	for _, b := range blocks {
		stripped = append(stripped, out[prev:b[0]]...)
		prev = b[1]
	}
	stripped = append(stripped, out[prev:]...)

	origTag := rssStartTag.Find(original)
	if origTag == nil {
		return stripped, len(blocks) // not RSS
	}
	declared := bytes.Contains(origTag, []byte(`"`+podcastNS+`"`)) || bytes.Contains(origTag, []byte(`"`+podcastNSLegacy+`"`))
	loc := rssStartTag.FindIndex(stripped)
	if loc == nil {
		tb.Fatal("output has no <rss> start tag")
	}
	tag := stripped[loc[0]:loc[1]]
	added := addedNamespace.FindAllIndex(tag, -1)
	if declared {
		if !bytes.Equal(tag, origTag) {
			tb.Fatalf("<rss> start tag changed although it declares the namespace:\n got %s\nwant %s", tag, origTag)
		}
		return stripped, len(blocks)
	}
	if len(added) == 0 {
		tb.Fatalf("no namespace declaration added to %s", tag)
	}
	last := added[len(added)-1] // appended at the end of the tag
	var b []byte
	b = append(b, stripped[:loc[0]+last[0]]...)
	b = append(b, stripped[loc[0]+last[1]:]...)
	return b, len(blocks)
}

// checkAlternates compares item by item: exactly one new BitTorrent
// alternate enclosure for items with an enclosure (none for the others),
// carrying the Alternate RewriteFeed should have matched.
func checkAlternates(t *testing.T, origFeed, outFeed *gofeed.Feed, alts []Alternate) {
	t.Helper()
	for i, it := range outFeed.Items {
		before := bitTorrentAlternates(origFeed.Items[i])
		after := bitTorrentAlternates(it)
		want := 0
		if len(origFeed.Items[i].Enclosures) > 0 {
			want = 1
		}
		if got := len(after) - len(before); got != want {
			t.Errorf("item %d (%q): new alternate enclosures: got %d, want %d", i, it.GUID, got, want)
			continue
		}
		if want == 0 {
			continue
		}
		a := expectedAlternate(alts, origFeed.Items[i])
		if a == nil {
			t.Errorf("item %d (%q): no Alternate for it in the test", i, it.GUID)
			continue
		}
		checkAlternate(t, i, after[len(after)-1], a)
	}
}

// expectedAlternate finds the Alternate for an item the way RewriteFeed
// documents it: first by GUID, then a GUID-less one by enclosure URL.
func expectedAlternate(alts []Alternate, it *gofeed.Item) *Alternate {
	guid := strings.TrimSpace(it.GUID)
	if guid != "" {
		for i := range alts {
			if alts[i].GUID == guid {
				return &alts[i]
			}
		}
	}
	for _, enc := range it.Enclosures {
		for i := range alts {
			if alts[i].GUID == "" && alts[i].EnclosureURL == strings.TrimSpace(enc.URL) {
				return &alts[i]
			}
		}
	}
	return nil
}

func bitTorrentAlternates(it *gofeed.Item) []ext.Extension {
	var found []ext.Extension
	for _, byName := range it.Extensions {
		for _, e := range byName["alternateEnclosure"] {
			if e.Attrs["title"] == alternateTitle {
				found = append(found, e)
			}
		}
	}
	return found
}

func checkAlternate(t *testing.T, i int, e ext.Extension, a *Alternate) {
	t.Helper()
	wantType := a.Type
	if wantType == "" {
		wantType = e.Attrs["type"] // falls back to the enclosure's; not known here
	}
	if got := e.Attrs["type"]; got != wantType || got == "" {
		t.Errorf("item %d: type: got %q, want %q", i, got, wantType)
	}
	if got, want := e.Attrs["length"], strconv.FormatInt(a.Length, 10); got != want {
		t.Errorf("item %d: length: got %q, want %q", i, got, want)
	}
	integrity := e.Children["integrity"]
	if len(integrity) != 1 || integrity[0].Attrs["type"] != "sri" || integrity[0].Attrs["value"] != a.SRI {
		t.Errorf("item %d: integrity: got %+v, want sri %q", i, integrity, a.SRI)
	}
	sources := e.Children["source"]
	want := []struct{ uri, contentType string }{
		{a.EnclosureURL, ""},
		{a.TorrentURL, "application/x-bittorrent"},
		{a.Magnet, ""},
	}
	if len(sources) != len(want) {
		t.Fatalf("item %d: sources: got %d, want %d", i, len(sources), len(want))
	}
	for j, w := range want {
		if got := sources[j].Attrs["uri"]; got != w.uri {
			t.Errorf("item %d: source %d uri: got %q, want %q", i, j, got, w.uri)
		}
		if got := sources[j].Attrs["contentType"]; got != w.contentType {
			t.Errorf("item %d: source %d contentType: got %q, want %q", i, j, got, w.contentType)
		}
	}
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

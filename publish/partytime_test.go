package publish

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// partytimeDir holds the npm podcast-partytime parser for
// TestRepublishedFeedPartytime; CI installs it with
// `npm ci --prefix publish/testdata/partytime`.
const partytimeDir = "testdata/partytime"

// partytimeItem is what testdata/partytime/parse.mjs prints of an item.
type partytimeItem struct {
	GUID                  string             `json:"guid"`
	Title                 string             `json:"title"`
	EnclosureURL          string             `json:"enclosureUrl"`
	AlternativeEnclosures []partytimeAltEncl `json:"alternativeEnclosures"`
}

// partytimeAltEncl is partytime's Phase3AltEnclosure.
type partytimeAltEncl struct {
	Type   string `json:"type"`
	Length int64  `json:"length"`
	Title  string `json:"title"`
	Source []struct {
		URI         string `json:"uri"`
		ContentType string `json:"contentType"`
	} `json:"source"`
	Integrity *struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"integrity"`
}

// mustHavePartytime returns node's path, skipping the test when node or
// the installed parser is missing, except in CI, where it fails.
func mustHavePartytime(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(partytimeDir, "node_modules", "podcast-partytime", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node and podcast-partytime are required in CI (npm ci --prefix publish/%s): %v", partytimeDir, err)
		}
		t.Skipf("node or podcast-partytime missing (npm ci --prefix publish/%s): %v", partytimeDir, err)
	}
	return node
}

// logPartytimeVersions logs the versions of node and of the installed
// podcast-partytime, so a test log says what parsed the feeds.
func logPartytimeVersions(t *testing.T, node string) {
	t.Helper()
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(partytimeDir, "node_modules", "podcast-partytime", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatalf("podcast-partytime package.json: %v", err)
	}
	t.Logf("node %s, podcast-partytime %s", strings.TrimSpace(string(out)), pkg.Version)
}

// TestRepublishedFeedPartytime parses republished feeds with the npm
// podcast-partytime parser, the one Podcast Index uses: every real feed in
// testdata rewritten with an Alternate per episode, and the feed the whole
// app republished in cmd/podseed's end-to-end golden file. Every item
// partytime keeps must carry podseed's alternate enclosure with the
// original URL, the .torrent and the magnet URI as sources, and the SRI
// integrity.
func TestRepublishedFeedPartytime(t *testing.T) {
	node := mustHavePartytime(t)
	logPartytimeVersions(t, node)
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// want maps each written file to its Alternates by GUID and by
	// enclosure URL; nil for the app's golden feed, checked by shape only.
	want := map[string]map[string]Alternate{}
	wantItems := map[string]int{} // items partytime must keep, by file
	var args []string
	for _, file := range files {
		original, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if mustParseFeed(t, original).FeedType != "rss" {
			continue
		}
		alts := altsFromFeed(mustParseFeed(t, original))
		byKey := map[string]Alternate{}
		for i := range alts {
			alts[i].Magnet += "&xl=" + strconv.FormatInt(alts[i].Length, 10)
			if alts[i].GUID != "" {
				byKey["guid "+alts[i].GUID] = alts[i]
			}
			byKey["url "+alts[i].EnclosureURL] = alts[i]
		}
		out, err := RewriteFeed(original, alts)
		if err != nil {
			t.Fatalf("%s: RewriteFeed: %v", file, err)
		}
		p := filepath.Join(dir, filepath.Base(file))
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
		want[p] = byKey
		args = append(args, p)
		// Partytime keeps the items with an enclosure and a title or
		// description; every one of them must come through.
		for _, it := range mustParseFeed(t, out).Items {
			if len(it.Enclosures) > 0 && (strings.TrimSpace(it.Title) != "" || strings.TrimSpace(it.Description) != "") {
				wantItems[p]++
			}
		}
	}
	golden, err := filepath.Abs(filepath.Join("..", "cmd", "podseed", "testdata", "republished.golden.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want[golden] = nil
	args = append(args, golden)

	script, err := filepath.Abs(filepath.Join(partytimeDir, "parse.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "PARTYTIME_LOG=error")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node parse.mjs: %v\n%s", err, stderr.String())
	}
	var parsed map[string][]partytimeItem
	if err := json.Unmarshal(stdout, &parsed); err != nil {
		t.Fatalf("decode partytime output: %v\n%.500s", err, stdout)
	}

	total := 0
	for _, file := range args {
		items, ok := parsed[file]
		if !ok {
			t.Errorf("%s: partytime printed nothing", filepath.Base(file))
			continue
		}
		total += len(items)
		if n, ok := wantItems[file]; ok && len(items) != n {
			t.Errorf("%s: partytime kept %d items, want %d", filepath.Base(file), len(items), n)
		}
		for i, it := range items {
			where := filepath.Base(file) + " item " + strconv.Itoa(i) + " (" + it.GUID + ")"
			// The publisher's own alternate enclosures stay (PeerTube's
			// carry .torrent sources too); podseed's is the one with a
			// magnet source.
			var ours []partytimeAltEncl
			for _, ae := range it.AlternativeEnclosures {
				for _, s := range ae.Source {
					if strings.HasPrefix(s.URI, "magnet:") {
						ours = append(ours, ae)
						break
					}
				}
			}
			if len(ours) != 1 {
				t.Errorf("%s: %d alternate enclosures with a magnet source, want 1", where, len(ours))
				continue
			}
			ae := ours[0]
			checkPartytimeShape(t, where, it, ae)
			byKey := want[file]
			if byKey == nil {
				continue
			}
			a, ok := byKey["guid "+it.GUID]
			if !ok {
				a, ok = byKey["url "+strings.TrimSpace(it.EnclosureURL)]
			}
			if !ok {
				t.Errorf("%s: no Alternate was made for this item", where)
				continue
			}
			var uris []string
			for _, s := range ae.Source {
				uris = append(uris, s.URI)
			}
			wantURIs := []string{a.EnclosureURL, a.TorrentURL, a.Magnet}
			if strings.Join(uris, "\n") != strings.Join(wantURIs, "\n") {
				t.Errorf("%s: sources got %q, want %q", where, uris, wantURIs)
			}
			wantType := a.Type
			if wantType == "" {
				wantType = "application/octet-stream" // what RewriteFeed writes for an untyped enclosure
			}
			if ae.Length != a.Length || ae.Type != wantType || ae.Integrity == nil || ae.Integrity.Value != a.SRI {
				t.Errorf("%s: got length %d type %q integrity %+v, want %d %q %q", where, ae.Length, ae.Type, ae.Integrity, a.Length, wantType, a.SRI)
			}
		}
	}
	// Partytime drops items without title and description; most remain.
	if total < 50 {
		t.Errorf("partytime kept %d items over %d feeds, want at least 50", total, len(args))
	}
	if len(parsed[golden]) == 0 {
		t.Errorf("partytime kept no item of the app's republished feed")
	}
	t.Logf("partytime parsed %d items with podseed's alternate enclosures in %d feeds", total, len(args))
}

// checkPartytimeShape checks what any podseed alternate enclosure carries
// as partytime reads it: the original enclosure as first source, then the
// .torrent (contentType application/x-bittorrent) and a magnet URI with
// xt, xs and xl, a positive length, and SHA-256 SRI integrity.
func checkPartytimeShape(t *testing.T, where string, it partytimeItem, ae partytimeAltEncl) {
	t.Helper()
	if len(ae.Source) != 3 {
		t.Errorf("%s: %d sources, want 3 (original, .torrent, magnet)", where, len(ae.Source))
		return
	}
	if got := ae.Source[0].URI; got != strings.TrimSpace(it.EnclosureURL) {
		t.Errorf("%s: first source %q, want the enclosure %q", where, got, it.EnclosureURL)
	}
	tor := ae.Source[1]
	if tor.ContentType != "application/x-bittorrent" || !strings.HasSuffix(tor.URI, ".torrent") {
		t.Errorf("%s: second source %+v, want a .torrent with contentType application/x-bittorrent", where, tor)
	}
	mag := ae.Source[2].URI
	for _, p := range []string{"magnet:?xt=urn:btih:", "&xs=", "&xl="} {
		if !strings.Contains(mag, p) {
			t.Errorf("%s: magnet source %q lacks %q", where, mag, p)
		}
	}
	if ae.Length <= 0 || ae.Type == "" || ae.Title != "BitTorrent" {
		t.Errorf("%s: length %d type %q title %q, want a length, a type and title BitTorrent", where, ae.Length, ae.Type, ae.Title)
	}
	if ae.Integrity == nil || ae.Integrity.Type != "sri" || !strings.HasPrefix(ae.Integrity.Value, "sha256-") {
		t.Errorf("%s: integrity %+v, want sri sha256-…", where, ae.Integrity)
	}
}

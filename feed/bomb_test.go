package feed

import (
	"strings"
	"testing"
)

// TestParseEntityBomb: internal entities (billion laughs) and external
// entities (XXE) in a DOCTYPE are never expanded: Parse either rejects the
// feed or returns the literal text, and never reads a file.
func TestParseEntityBomb(t *testing.T) {
	laughs := `<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><guid>g</guid><title>&lol9;</title><enclosure url="https://example.com/a.mp3" length="1" type="audio/mpeg"/></item>
</channel></rss>`
	xxe := `<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&xxe;</title>
<item><guid>g</guid><title>&xxe;</title><enclosure url="https://example.com/a.mp3" length="1" type="audio/mpeg"/></item>
</channel></rss>`
	for _, tt := range []struct{ name, body string }{{"billion laughs", laughs}, {"external entity", xxe}} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.body), "https://example.com/feed.xml")
			if err != nil {
				return // refusing the feed is fine
			}
			texts := []string{f.Title}
			for _, e := range f.Episodes {
				texts = append(texts, e.Title)
			}
			for _, s := range texts {
				if strings.Contains(s, "lollol") || strings.Contains(s, "root:") || len(s) > 100 {
					t.Errorf("entity expanded: %.80q (%d bytes)", s, len(s))
				}
			}
		})
	}
}

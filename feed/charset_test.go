package feed

import "testing"

func TestDeclareCharset(t *testing.T) {
	latin := "<rss><channel><title>Caf\xe9</title></channel></rss>"
	tests := []struct {
		name, body, contentType, want string
	}{
		{"no declaration", latin, "application/rss+xml; charset=ISO-8859-1",
			`<?xml version="1.0" encoding="ISO-8859-1"?>` + latin},
		{"declaration without encoding", `<?xml version="1.0" standalone="yes"?>` + latin, "text/xml; charset=windows-1252",
			`<?xml version="1.0" encoding="windows-1252" standalone="yes"?>` + latin},
		{"single quotes", `<?xml version='1.0'?>` + latin, "text/xml;charset=latin1",
			`<?xml version='1.0' encoding="latin1"?>` + latin},
		{"declared encoding wins", `<?xml version="1.0" encoding="ISO-8859-15"?>` + latin, "text/xml; charset=ISO-8859-1",
			`<?xml version="1.0" encoding="ISO-8859-15"?>` + latin},
		{"valid UTF-8 kept", "<rss><channel><title>Café</title></channel></rss>", "text/xml; charset=ISO-8859-1",
			"<rss><channel><title>Café</title></channel></rss>"},
		{"no charset", latin, "application/rss+xml", latin},
		{"charset utf-8", latin, "application/rss+xml; charset=UTF-8", latin},
		{"no content type", latin, "", latin},
		{"hostile label", latin, `text/xml; charset="x\"?><!DOCTYPE"`, latin},
		{"BOM", "\xef\xbb\xbf" + latin, "text/xml; charset=ISO-8859-1", "\xef\xbb\xbf" + latin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(DeclareCharset([]byte(tt.body), tt.contentType)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	// The result parses with the right characters.
	f, err := Parse(DeclareCharset([]byte(latin), "text/xml; charset=ISO-8859-1"), "")
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "Café" {
		t.Errorf("parsed title %q, want Café", f.Title)
	}
}

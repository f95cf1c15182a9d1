package publish

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
)

// A DOCTYPE's internal subset may declare entities, and a subscriber's XML
// parser expands them: nested internal entities make an entity-expansion
// bomb ("billion laughs", 3 GB from a few hundred bytes), external ones
// (SYSTEM, PUBLIC, parameter entities) make it read files or fetch URLs
// (XXE). podseed itself never expands them (feed.Parse keeps a reference
// to a declared entity as literal text, only the predefined and HTML
// entities are decoded), but republishing the DOCTYPE as it came would
// pass the bomb on. So RewriteFeed defuses such a feed (defuseDTD): the
// internal subset goes, and every reference to an entity it declared is
// rewritten to what podseed read, so the feed stays well-formed without
// the declarations and subscribers read the text podseed stored.

// entityDeclName matches an entity declaration in a DOCTYPE, general or
// parameter ("%"), internal or external, and captures a general entity's
// name.
var entityDeclName = regexp.MustCompile(`<!ENTITY\s+(%\s+)?([^\s%"'>]+)`)

// predefinedEntities are XML's own (XML 1.0 §4.6); a DOCTYPE may declare
// them, but only as what they already are, so references stay.
var predefinedEntities = map[string]bool{"amp": true, "lt": true, "gt": true, "quot": true, "apos": true}

// dtdDefuser rewrites references to the general entities a DOCTYPE
// declared, in the text and tags that follow it.
type dtdDefuser struct {
	declared map[string]bool
}

// defuseDTD returns the edit that removes the internal subset of the
// DOCTYPE directive raw (starting at "<!DOCTYPE", at offset start in
// src.work) when that subset declares any entity, and a dtdDefuser for the
// rest of the document; ok is false, and nothing changes, for a DOCTYPE
// without entity declarations. "<!DOCTYPE rss [ … ]>" becomes
// "<!DOCTYPE rss>"; an external ID before the subset is kept.
func defuseDTD(src *source, start int, raw []byte) (e edit, d *dtdDefuser, ok bool) {
	if !bytes.HasPrefix(raw, []byte("<!DOCTYPE")) {
		return edit{}, nil, false
	}
	open := -1
	var quote byte
	for i := len("<!DOCTYPE"); i < len(raw); i++ {
		c := raw[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			open = i
		}
		if open >= 0 {
			break
		}
	}
	closing := bytes.LastIndexByte(raw, ']')
	if open < 0 || closing < open {
		return edit{}, nil, false
	}
	subset := raw[open:closing]
	decls := entityDeclName.FindAllSubmatch(subset, -1)
	if len(decls) == 0 {
		return edit{}, nil, false
	}
	d = &dtdDefuser{declared: make(map[string]bool)}
	for _, m := range decls {
		if len(m[1]) == 0 && !predefinedEntities[string(m[2])] {
			d.declared[string(m[2])] = true
		}
	}
	from := open
	for from > 0 && isXMLSpace(raw[from-1]) {
		from--
	}
	to := closing + 1
	for to < len(raw) && isXMLSpace(raw[to]) {
		to++
	}
	// Offsets in raw are ASCII markup, so they map to the original
	// through the same marks as the start of the directive.
	off := src.origOffset(start + from)
	del := src.origOffset(start+to) - off
	return edit{off: off, del: del}, d, true
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// edits returns the rewrites of references to declared entities in raw, a
// text or tag token at offset start in src.work (never CDATA, comments or
// processing instructions, where '&' is no reference): a reference whose
// name is an HTML entity becomes the character reference of what
// feed.Parse decoded it to, any other becomes the literal text
// "&name;" ("&amp;name;"), which is how feed.Parse read it.
func (d *dtdDefuser) edits(src *source, start int, raw []byte) []edit {
	var out []edit
	for i := 0; ; {
		amp := bytes.IndexByte(raw[i:], '&')
		if amp < 0 {
			return out
		}
		amp += i
		semi := bytes.IndexByte(raw[amp:], ';')
		i = amp + 1
		if semi < 0 {
			return out
		}
		name := string(raw[amp+1 : amp+semi])
		if !d.declared[name] {
			continue
		}
		if v, ok := xml.HTMLEntity[name]; ok {
			var ref []byte
			for _, r := range v {
				ref = fmt.Appendf(ref, "&#x%X;", r)
			}
			off := src.origOffset(start + amp)
			out = append(out, edit{off: off, del: src.origOffset(start+amp+semi+1) - off, text: ref})
			continue
		}
		out = append(out, edit{off: src.origOffset(start + amp + 1), text: []byte("amp;")})
	}
}

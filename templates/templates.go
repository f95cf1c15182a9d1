// Package templates holds podseed's HTML templates as an embedded file
// system, so the binary carries its pages (go:embed cannot reach "../").
package templates

import "embed"

// FS holds every *.html template at its root.
//
//go:embed *.html
var FS embed.FS

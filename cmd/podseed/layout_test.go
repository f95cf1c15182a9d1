package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPackageBoundaries keeps the architecture: feed, seed, publish and
// store import no other podseed package; web imports only store and
// templates.
func TestPackageBoundaries(t *testing.T) {
	const mod = "github.com/podseed/podseed/"
	allowed := map[string][]string{
		"feed":    nil,
		"seed":    nil,
		"publish": nil,
		"store":   nil,
		"web":     {"store", "templates"},
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", mod+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			name, internal := strings.CutPrefix(dep, mod)
			if !internal || name == pkg {
				continue
			}
			if !slices.Contains(ok, name) {
				t.Errorf("%s imports %s, which the package layout forbids", pkg, name)
			}
		}
	}
}

package publish

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsNoPodseedPackage keeps publish independent of the other
// podseed packages (see STYLE.md: only cmd combines them).
func TestImportsNoPodseedPackage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if p == "github.com/podseed/podseed" || strings.HasPrefix(p, "github.com/podseed/podseed/") {
				t.Errorf("%s imports %s", file, p)
			}
		}
	}
}

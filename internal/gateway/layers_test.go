package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The package reads in one sitting: drawn from its files' uses of each
// other's declarations, a reader climbs at most 8 layers, and at most 4 uses
// run back up them. The layers are found as a reader would: files that use
// nothing of the others at the bottom, files nothing uses at the top, and
// where uses go round, the file with the most uses out above the rest
// (Eades, Lin and Smyth's order).
func TestTheFilesReadOneWay(t *testing.T) {
	d := drawFiles(t, ".")
	t.Logf("%d files, %d layers, %d uses back up\n%s", len(d.layer), d.depth, len(d.back), d)
	if d.depth > 8 || len(d.back) > 4 {
		t.Errorf("%d layers deep with %d uses back up (at most 8 and 4):\n%s", d.depth, len(d.back), d)
	}
}

// drawing is a package's files by layer, and the uses that run back up.
type drawing struct {
	layer map[string]int
	depth int
	back  []string
}

func (d drawing) String() string {
	var b strings.Builder
	for l := d.depth; l >= 1; l-- {
		var files []string
		for f, fl := range d.layer {
			if fl == l {
				files = append(files, f)
			}
		}
		slices.Sort(files)
		fmt.Fprintf(&b, "  %d: %s\n", l, strings.Join(files, " "))
	}
	for _, u := range d.back {
		fmt.Fprintf(&b, "  back up: %s\n", u)
	}
	return b.String()
}

// drawFiles type-checks the package in dir (its files for this platform,
// not its tests) and draws its files.
func drawFiles(t *testing.T, dir string) drawing {
	t.Helper()
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}} {{.Export}}", dir).Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if path, file, ok := strings.Cut(sc.Text(), " "); ok {
			exports[path] = file
		}
	}
	names, err := exec.Command("go", "list", "-f", "{{join .GoFiles \" \"}}", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range strings.Fields(string(names)) {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	lookup := func(path string) (io.ReadCloser, error) { return os.Open(exports[path]) }
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "gc", lookup)}
	pkg, err := conf.Check("gateway", fset, files, info)
	if err != nil {
		t.Fatal(err)
	}
	uses := map[string]map[string]bool{}
	for _, f := range files {
		uses[filepath.Base(fset.File(f.Pos()).Name())] = map[string]bool{}
	}
	for id, obj := range info.Uses {
		if obj.Pkg() != pkg || !obj.Pos().IsValid() {
			continue
		}
		_, isFunc := obj.(*types.Func)
		v, isVar := obj.(*types.Var)
		if obj.Parent() != pkg.Scope() && !isFunc && !(isVar && v.IsField()) {
			continue // a local name
		}
		from, to := filepath.Base(fset.Position(id.Pos()).Filename), filepath.Base(fset.Position(obj.Pos()).Filename)
		if from != to && strings.HasSuffix(to, ".go") {
			uses[from][to] = true
		}
	}
	return draw(uses)
}

// draw orders the files bottom to top (Eades, Lin and Smyth), layers them
// by their longest chain of uses down, and lists the uses that go up.
func draw(uses map[string]map[string]bool) drawing {
	left := map[string]bool{}
	for f := range uses {
		left[f] = true
	}
	degree := func(f string) (in, out int) {
		for to := range uses[f] {
			if left[to] {
				out++
			}
		}
		for g := range left {
			if uses[g][f] {
				in++
			}
		}
		return in, out
	}
	var bottom, top []string
	for len(left) > 0 {
		for moved := true; moved; {
			moved = false
			for _, f := range sortedKeys(left) {
				if in, out := degree(f); out == 0 {
					bottom, moved = append(bottom, f), true
					delete(left, f)
				} else if in == 0 {
					top, moved = append(top, f), true
					delete(left, f)
				}
			}
		}
		if len(left) > 0 {
			best, most := "", -1<<31
			for _, f := range sortedKeys(left) {
				if in, out := degree(f); out-in > most {
					best, most = f, out-in
				}
			}
			top = append(top, best)
			delete(left, best)
		}
	}
	slices.Reverse(top)
	order := append(bottom, top...)
	at := map[string]int{}
	for i, f := range order {
		at[f] = i
	}
	d := drawing{layer: map[string]int{}}
	for _, f := range order {
		d.layer[f] = 1
		for to := range uses[f] {
			if at[to] > at[f] {
				d.back = append(d.back, f+" -> "+to)
			} else {
				d.layer[f] = max(d.layer[f], d.layer[to]+1)
			}
		}
		d.depth = max(d.depth, d.layer[f])
	}
	slices.Sort(d.back)
	return d
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package deps

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/tjunet/tjunet/"

// cores lists the sans-I/O packages of the module and the imports each may
// have. A core package may import another package of the module only if
// that package is a row of this table too, so the rules hold for
// everything a core depends on. To hold another package to them (minitalk's
// protocol package, say), add a row naming the imports it needs; the test
// says which import or call breaks the rules.
var cores = []struct {
	pkg   string   // path inside the module
	allow []string // standard packages, or module packages listed here
}{
	{"internal/wire", []string{
		"crypto/aes", "crypto/cipher", "crypto/hkdf", "crypto/hmac", "crypto/sha256", "crypto/subtle",
		"encoding/binary", "errors", "hash/crc32",
	}},
	// math/rand/v2: a seeded generator (BBR's random ProbeBW cruise, seeded from
	// the ISN), never the global source.
	{"internal/tcb", []string{
		"crypto/subtle", "errors", "fmt", "math", "math/rand/v2", "slices", "time", "unsafe",
		module + "internal/wire", module + "trace",
	}},
	// The event format and the Tracer interface the engine calls; file
	// writing lives in trace/traceio, which no core may import.
	{"trace", []string{"errors", "fmt", "math", "strconv", "strings", "sync"}},
	// minitalk's state machines; the loops with the clock and the timers
	// are in minitalk/driver. embed: the seed's test data, compiled in.
	{"minitalk", []string{"embed", "encoding/binary", "errors", "fmt", "hash/crc32", "math/rand/v2", "time"}},
}

// forbidden are the package-level names no core may use even where their
// package is allowed: the clock, sleeping and timers (the caller passes
// time in and asks NextDeadline), the global random sources (randomness is
// injected, so runs replay), and printing (output is the caller's).
var forbidden = map[string]map[string]string{
	"time": set("reads the clock or waits: take the time as an argument",
		"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker"),
	"fmt": set("prints: return values or errors instead",
		"Print", "Printf", "Println", "Fprint", "Fprintf", "Fprintln", "Scan", "Scanf", "Scanln", "Fscan", "Fscanf", "Fscanln"),
}

// allowedOnly are packages of which a core may use only the names listed:
// math/rand/v2's generators and types, never its global source.
var allowedOnly = map[string]map[string]string{
	"math/rand/v2": set("uses the global random source: take a *rand.Rand",
		"New", "NewPCG", "NewChaCha8", "NewZipf", "Rand", "Source", "PCG", "ChaCha8", "Zipf"),
}

// banned are packages no core may import whatever its row says.
var banned = map[string]string{
	"os": "does I/O", "io/fs": "does I/O", "bufio": "buffers I/O", "net": "does I/O",
	"syscall": "does I/O", "os/exec": "does I/O", "log": "prints", "log/slog": "prints",
	"math/rand": "has a global random source", "crypto/rand": "is a global random source: take an io.Reader",
	"testing": "is for tests",
}

func set(why string, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = why
	}
	return m
}

// TestSansIO checks every core package against its row of cores and the
// forbidden names. Adding `import "os"` to internal/tcb fails it, and so
// does a call of time.Now in internal/wire (which may not even import time;
// internal/tcb may, for time.Duration, and a time.Now there fails alone):
//
//	--- FAIL: TestSansIO/internal/tcb
//	    deps_test.go:102: internal/tcb/tcb.go: imports "os", which is not in its row of cores (os does I/O)
//	--- FAIL: TestSansIO/internal/wire
//	    deps_test.go:102: internal/wire/wire.go: imports "time", which is not in its row of cores
//	    deps_test.go:102: internal/wire/wire.go:398:29: time.Now reads the clock or waits: take the time as an argument
//
// TestSansIOCatchesViolations shows the same on a package written to break
// every rule.
func TestSansIO(t *testing.T) {
	root := filepath.Join("..", "..")
	rows := map[string]bool{}
	for _, c := range cores {
		rows[module+c.pkg] = true
	}
	for _, c := range cores {
		t.Run(c.pkg, func(t *testing.T) {
			problems, err := check(filepath.Join(root, filepath.FromSlash(c.pkg)), c.pkg, c.allow, rows)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

// check returns what breaks the rules in the package in dir (named name in
// messages), which may import the packages in allow; rows are the module
// packages held to these rules.
func check(dir, name string, allow []string, rows map[string]bool) ([]string, error) {
	bp, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		return nil, err
	}
	var problems []string
	fset := token.NewFileSet()
	for _, file := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, file), nil, 0)
		if err != nil {
			return nil, err
		}
		at := func(n ast.Node) string {
			p := fset.Position(n.Pos())
			return fmt.Sprintf("%s/%s:%d:%d", name, file, p.Line, p.Column)
		}
		local := map[string]string{} // import name in this file -> path
		for _, spec := range f.Imports {
			path, _ := strconv.Unquote(spec.Path.Value)
			why := ""
			if b := bannedWhy(path); b != "" {
				why = fmt.Sprintf(" (%s %s)", path, b)
			} else if strings.HasPrefix(path, module) && !rows[path] {
				why = fmt.Sprintf(" (%s is not a core package: add a row for it, or do not depend on it)", path)
			}
			if why != "" || !slices.Contains(allow, path) {
				problems = append(problems, fmt.Sprintf("%s/%s: imports %q, which is not in its row of cores%s", name, file, path, why))
			}
			n := path[strings.LastIndex(path, "/")+1:]
			if path == "math/rand/v2" {
				n = "rand"
			}
			if spec.Name != nil {
				n = spec.Name.Name
			}
			if n == "." {
				problems = append(problems, fmt.Sprintf("%s: dot import of %q hides which names are used", at(spec), path))
			}
			local[n] = path
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				problems = append(problems, fmt.Sprintf("%s: go statement: a core runs in its caller's goroutine", at(n)))
			case *ast.SelectorExpr:
				id, ok := n.X.(*ast.Ident)
				if !ok || id.Obj != nil { // a local variable, not a package
					return true
				}
				path, ok := local[id.Name]
				if !ok {
					return true
				}
				if why, bad := forbidden[path][n.Sel.Name]; bad {
					problems = append(problems, fmt.Sprintf("%s: %s.%s %s", at(n), id.Name, n.Sel.Name, why))
				}
				if only, ok := allowedOnly[path]; ok {
					if _, fine := only[n.Sel.Name]; !fine {
						problems = append(problems, fmt.Sprintf("%s: %s.%s %s", at(n), id.Name, n.Sel.Name, only["New"]))
					}
				}
			}
			return true
		})
	}
	return problems, nil
}

// bannedWhy says why no core may import path, or returns "".
func bannedWhy(path string) string {
	if why := banned[path]; why != "" {
		return why
	}
	if strings.HasPrefix(path, "os/") || strings.HasPrefix(path, "net/") {
		return "does I/O"
	}
	return ""
}

// TestSansIOCatchesViolations runs the check on a package that breaks every
// rule once, so that a check that can no longer fail is noticed.
func TestSansIOCatchesViolations(t *testing.T) {
	dir := t.TempDir()
	src := `package bad

import (
	"os"
	"time"
	"math/rand/v2"
	"github.com/tjunet/tjunet/trace/traceio"
)

func F(r *rand.Rand) time.Duration {
	os.Exit(0)
	go func() {}()
	_ = rand.IntN(3)
	_ = r.IntN(3)
	_ = rand.New(rand.NewPCG(1, 2))
	_ = traceio.ErrClosed
	return time.Since(time.Now())
}
`
	if err := os.WriteFile(filepath.Join(dir, "bad.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err := check(dir, "bad", []string{"time", "math/rand/v2", module + "trace/traceio"}, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{
		`imports "os"`,
		`imports "github.com/tjunet/tjunet/trace/traceio", which is not in its row of cores (github.com/tjunet/tjunet/trace/traceio is not a core package`,
		"bad/bad.go:12:2: go statement",
		"bad/bad.go:13:6: rand.IntN uses the global random source",
		"time.Since reads the clock",
		"time.Now reads the clock",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem reported containing %q; got:\n%s", want, all)
		}
	}
	if strings.Contains(all, "r.IntN") || strings.Contains(all, "rand.New ") || strings.Contains(all, "rand.NewPCG") {
		t.Errorf("an injected generator was reported:\n%s", all)
	}
	if len(problems) != 6 { // os.Exit is reported as the import of os
		t.Errorf("%d problems, want 6:\n%s", len(problems), all)
	}
}

package archtest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pkg is the part of `go list -json` output the rules need.
type pkg struct {
	ImportPath   string
	Standard     bool
	ForTest      string
	Module       *struct{ Path string }
	Imports      []string // of the package's non-test files
	TestImports  []string // of its _test.go files in the same package
	XTestImports []string // of its _test.go files in the external test package
	Error        *struct{ Err string }
}

// violation is one import that breaks a rule.
type violation struct {
	Importer, Imported string
	Test               bool // the import is in a _test.go file
	Rule               string
}

func (v violation) String() string {
	where := ""
	if v.Test {
		where = " (in a test)"
	}
	return fmt.Sprintf("%s imports %s%s: %s", v.Importer, v.Imported, where, v.Rule)
}

// Rule texts, also used by the self-test to tell which rule fired.
const (
	ruleDomain    = "domain may import only the standard library"
	rulePorts     = "ports may import only the standard library and domain"
	ruleWire      = "wire may import only the standard library and domain"
	ruleRealtime  = "realtime may import only the standard library, domain, ports and wire"
	ruleApp       = "app may import only the standard library, domain, ports and golang.org/x/sync/errgroup"
	ruleAdapter   = "an adapter must not import app or another adapter"
	ruleAppUser   = "only the module root, internal/... and cmd/... may import app"
	ruleInternal  = "only the module root, internal/... and cmd/... may import internal/..."
	ruleTestKits  = "only tests may import testenv and ports/portstest"
	errgroupPath  = "golang.org/x/sync/errgroup"
	portstestPath = "ports/portstest"
)

// checkImports applies the rules to the packages of module. isStd reports
// whether an import path is in the standard library.
func checkImports(module string, pkgs []pkg, isStd func(string) bool) []violation {
	// rel returns the path inside the module ("" for the root) and whether
	// path belongs to the module at all.
	rel := func(path string) (string, bool) {
		if path == module {
			return "", true
		}
		if r, ok := strings.CutPrefix(path, module+"/"); ok {
			return r, true
		}
		return "", false
	}
	under := func(r, dir string) bool { return r == dir || strings.HasPrefix(r, dir+"/") }
	adapterOf := func(r string) string {
		if a, ok := strings.CutPrefix(r, "adapters/"); ok {
			name, _, _ := strings.Cut(a, "/")
			return name
		}
		return ""
	}
	wiring := func(r string) bool { return r == "" || under(r, "internal") || under(r, "cmd") }
	isPorts := func(r string) bool { return under(r, "ports") && !under(r, portstestPath) }

	var out []violation
	for _, p := range pkgs {
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		check := func(imp string, test bool) {
			to, inModule := rel(imp)
			std := !inModule && isStd(imp)
			add := func(rule string) {
				out = append(out, violation{Importer: p.ImportPath, Imported: imp, Test: test, Rule: rule})
			}
			switch {
			// Rules on what a layer's own code may import; its tests may use anything.
			case !test && under(from, "domain") && !std && !(inModule && under(to, "domain")):
				add(ruleDomain)
			case !test && isPorts(from) && !std && !(inModule && (under(to, "domain") || isPorts(to))):
				add(rulePorts)
			case !test && under(from, "wire") && !std && !(inModule && (under(to, "domain") || under(to, "wire"))):
				add(ruleWire)
			case !test && under(from, "realtime") && !std &&
				!(inModule && (under(to, "domain") || isPorts(to) || under(to, "wire") || under(to, "realtime"))):
				add(ruleRealtime)
			case !test && under(from, "app") && !std && imp != errgroupPath &&
				!(inModule && (under(to, "domain") || isPorts(to) || under(to, "app"))):
				add(ruleApp)
			// Rules on who may import what, tests included.
			case adapterOf(from) != "" && inModule && (under(to, "app") || adapterOf(to) != "" && adapterOf(to) != adapterOf(from)):
				add(ruleAdapter)
			case inModule && under(to, "app") && !wiring(from) && !under(from, "app"):
				add(ruleAppUser)
			case inModule && under(to, "internal") && !wiring(from):
				add(ruleInternal)
			case !test && inModule && (under(to, "testenv") || under(to, portstestPath)) &&
				!under(from, "testenv") && !under(from, portstestPath):
				add(ruleTestKits)
			}
		}
		for _, imp := range p.Imports {
			check(imp, false)
		}
		for _, imp := range slices.Concat(p.TestImports, p.XTestImports) {
			check(imp, true)
		}
	}
	return out
}

// goList runs `go list -json args...` in dir and decodes its stream of objects.
func goList[T any](t *testing.T, dir string, args ...string) []T {
	t.Helper()
	gobin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to list the module's packages")
	cmd := exec.CommandContext(t.Context(), gobin, append([]string{"list", "-json"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list %v: %s", args, stderr.String())

	var items []T
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var item T
		err := dec.Decode(&item)
		if errors.Is(err, io.EOF) {
			return items
		}
		require.NoError(t, err)
		items = append(items, item)
	}
}

// listModule returns the module path, its packages, and the set of standard
// library packages among everything they import, tests included.
func listModule(t *testing.T) (string, []pkg, map[string]bool) {
	t.Helper()
	mods := goList[struct{ Path, Dir string }](t, ".", "-m")
	require.Len(t, mods, 1, "expected to run inside one module")
	mod := mods[0]
	require.NotEmpty(t, mod.Path)
	require.NotEmpty(t, mod.Dir)

	// -deps -test lists every package that a package or its tests import, each
	// with its Standard flag; the module's own packages appear once plainly and
	// once per test variant ("p [p.test]"). -e keeps a package that does not
	// build from hiding the imports of the others.
	all := goList[pkg](t, mod.Dir, "-e", "-deps", "-test", "./...")
	std := make(map[string]bool)
	var own []pkg
	for _, p := range all {
		if p.Standard {
			std[p.ImportPath] = true
		}
		if p.ForTest != "" || strings.Contains(p.ImportPath, " [") || strings.HasSuffix(p.ImportPath, ".test") {
			continue
		}
		if p.Module != nil && p.Module.Path == mod.Path {
			own = append(own, p)
		}
	}
	return mod.Path, own, std
}

func TestImports(t *testing.T) {
	module, pkgs, std := listModule(t)

	// The listing must be real, or the rules would pass vacuously.
	byPath := make(map[string]pkg, len(pkgs))
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	for _, must := range []string{"domain", "ports", "archtest"} {
		require.Contains(t, byPath, module+"/"+must, "go list did not report %s", must)
	}
	require.Contains(t, byPath[module+"/domain"].Imports, "errors", "go list did not report domain's imports")
	require.Contains(t, byPath[module+"/domain"].XTestImports, "github.com/stretchr/testify/require", "go list did not report domain's test imports")
	require.True(t, std["errors"], "standard library detection is broken")
	require.False(t, std["github.com/stretchr/testify/require"], "standard library detection is broken")

	for _, p := range pkgs {
		if p.Error != nil {
			t.Logf("note: %s: %s", p.ImportPath, p.Error.Err)
		}
	}
	for _, v := range checkImports(module, pkgs, func(path string) bool { return std[path] }) {
		t.Error(v)
	}
}

// TestCheckImportsFlagsViolations runs the rules on a made-up module to show
// that each rule fires, and only where it should.
func TestCheckImportsFlagsViolations(t *testing.T) {
	const m = "example.com/chat"
	stdlib := map[string]bool{"context": true, "errors": true, "fmt": true, "testing": true, "net/http": true}
	isStd := func(p string) bool { return stdlib[p] }

	tests := []struct {
		name string
		pkg  pkg
		want []violation // nil means clean
	}{
		{"domain on the standard library", pkg{ImportPath: m + "/domain", Imports: []string{"errors", "fmt"}}, nil},
		{"domain tests may use anything", pkg{ImportPath: m + "/domain",
			TestImports: []string{"github.com/stretchr/testify/require"}, XTestImports: []string{m + "/domain", m + "/adapters/memory"}}, nil},
		{"domain subpackage may import domain", pkg{ImportPath: m + "/domain/text", Imports: []string{m + "/domain"}}, nil},
		{"domain imports a module", pkg{ImportPath: m + "/domain", Imports: []string{"fmt", "github.com/google/uuid"}},
			[]violation{{m + "/domain", "github.com/google/uuid", false, ruleDomain}}},
		{"domain imports ports", pkg{ImportPath: m + "/domain", Imports: []string{m + "/ports"}},
			[]violation{{m + "/domain", m + "/ports", false, ruleDomain}}},
		{"domain subpackage imports a module", pkg{ImportPath: m + "/domain/x", Imports: []string{"golang.org/x/text"}},
			[]violation{{m + "/domain/x", "golang.org/x/text", false, ruleDomain}}},

		{"ports on domain", pkg{ImportPath: m + "/ports", Imports: []string{"context", m + "/domain"}}, nil},
		{"ports imports app", pkg{ImportPath: m + "/ports", Imports: []string{m + "/app"}},
			[]violation{{m + "/ports", m + "/app", false, rulePorts}}},
		{"ports imports a client library", pkg{ImportPath: m + "/ports", Imports: []string{"github.com/jackc/pgx/v5"}},
			[]violation{{m + "/ports", "github.com/jackc/pgx/v5", false, rulePorts}}},
		{"ports imports its test kit", pkg{ImportPath: m + "/ports", Imports: []string{m + "/ports/portstest"}},
			[]violation{{m + "/ports", m + "/ports/portstest", false, rulePorts}}},
		{"portstest may import testify and testenv", pkg{ImportPath: m + "/ports/portstest",
			Imports: []string{"testing", m + "/ports", "github.com/stretchr/testify/require", m + "/testenv"}}, nil},

		{"wire on domain", pkg{ImportPath: m + "/wire", Imports: []string{"net/http", m + "/domain"},
			XTestImports: []string{m + "/wire", "github.com/stretchr/testify/require"}}, nil},
		{"wire imports ports", pkg{ImportPath: m + "/wire", Imports: []string{m + "/ports"}},
			[]violation{{m + "/wire", m + "/ports", false, ruleWire}}},
		{"wire imports a library", pkg{ImportPath: m + "/wire", Imports: []string{"github.com/coder/websocket"}},
			[]violation{{m + "/wire", "github.com/coder/websocket", false, ruleWire}}},
		{"wire imports an adapter", pkg{ImportPath: m + "/wire", Imports: []string{m + "/adapters/http"}},
			[]violation{{m + "/wire", m + "/adapters/http", false, ruleWire}}},
		{"adapters share wire", pkg{ImportPath: m + "/adapters/websocket", Imports: []string{m + "/wire", m + "/domain", m + "/ports"}}, nil},

		{"realtime on domain, ports and wire", pkg{ImportPath: m + "/realtime",
			Imports:      []string{"context", m + "/domain", m + "/ports", m + "/wire"},
			XTestImports: []string{m + "/realtime", "github.com/stretchr/testify/require"}}, nil},
		{"realtime imports an adapter", pkg{ImportPath: m + "/realtime", Imports: []string{m + "/adapters/websocket"}},
			[]violation{{m + "/realtime", m + "/adapters/websocket", false, ruleRealtime}}},
		{"realtime imports a library", pkg{ImportPath: m + "/realtime", Imports: []string{"github.com/coder/websocket"}},
			[]violation{{m + "/realtime", "github.com/coder/websocket", false, ruleRealtime}}},
		{"realtime imports app", pkg{ImportPath: m + "/realtime", Imports: []string{m + "/app"}},
			[]violation{{m + "/realtime", m + "/app", false, ruleRealtime}}},
		{"adapters share realtime", pkg{ImportPath: m + "/adapters/socketio", Imports: []string{m + "/realtime", m + "/wire"}}, nil},

		{"app on domain, ports, errgroup", pkg{ImportPath: m + "/app",
			Imports: []string{"context", m + "/domain", m + "/ports", errgroupPath}}, nil},
		{"app tests may use adapters", pkg{ImportPath: m + "/app",
			XTestImports: []string{m + "/app", m + "/adapters/memory", m + "/ports/portstest"}}, nil},
		{"app imports an adapter", pkg{ImportPath: m + "/app", Imports: []string{m + "/adapters/postgres"}},
			[]violation{{m + "/app", m + "/adapters/postgres", false, ruleApp}}},
		{"app imports other x/sync packages", pkg{ImportPath: m + "/app", Imports: []string{"golang.org/x/sync/singleflight"}},
			[]violation{{m + "/app", "golang.org/x/sync/singleflight", false, ruleApp}}},
		{"app imports internal", pkg{ImportPath: m + "/app", Imports: []string{m + "/internal/config"}},
			[]violation{{m + "/app", m + "/internal/config", false, ruleApp}}},

		{"adapter on domain, ports and libraries", pkg{ImportPath: m + "/adapters/postgres",
			Imports:      []string{m + "/domain", m + "/ports", "github.com/jackc/pgx/v5", m + "/migrations"},
			XTestImports: []string{m + "/adapters/postgres", m + "/ports/portstest", m + "/testenv"}}, nil},
		{"adapter subpackage imports its own adapter", pkg{ImportPath: m + "/adapters/redis/scripts", Imports: []string{m + "/adapters/redis"}}, nil},
		{"adapter imports app", pkg{ImportPath: m + "/adapters/http", Imports: []string{m + "/app"}},
			[]violation{{m + "/adapters/http", m + "/app", false, ruleAdapter}}},
		{"adapter test imports app", pkg{ImportPath: m + "/adapters/websocket", XTestImports: []string{m + "/app"}},
			[]violation{{m + "/adapters/websocket", m + "/app", true, ruleAdapter}}},
		{"adapter imports another adapter", pkg{ImportPath: m + "/adapters/websocket", Imports: []string{m + "/adapters/redis"}},
			[]violation{{m + "/adapters/websocket", m + "/adapters/redis", false, ruleAdapter}}},
		{"adapter test imports another adapter", pkg{ImportPath: m + "/adapters/kafka", TestImports: []string{m + "/adapters/memory"}},
			[]violation{{m + "/adapters/kafka", m + "/adapters/memory", true, ruleAdapter}}},
		{"adapter imports another adapter's subpackage", pkg{ImportPath: m + "/adapters/http", Imports: []string{m + "/adapters/auth/keys"}},
			[]violation{{m + "/adapters/http", m + "/adapters/auth/keys", false, ruleAdapter}}},
		{"adapter imports internal", pkg{ImportPath: m + "/adapters/http", Imports: []string{m + "/internal/server"}},
			[]violation{{m + "/adapters/http", m + "/internal/server", false, ruleInternal}}},
		{"adapter imports testenv outside tests", pkg{ImportPath: m + "/adapters/redis", Imports: []string{m + "/testenv"}},
			[]violation{{m + "/adapters/redis", m + "/testenv", false, ruleTestKits}}},

		{"wiring may import everything", pkg{ImportPath: m + "/internal/server",
			Imports: []string{m + "/app", m + "/adapters/http", m + "/internal/config"}}, nil},
		{"cmd may import app and internal", pkg{ImportPath: m + "/cmd/chat", Imports: []string{m + "/internal/server", m + "/app"}}, nil},
		{"module root may import app and internal", pkg{ImportPath: m, Imports: []string{m + "/app", m + "/internal/server"}}, nil},
		{"other package imports app", pkg{ImportPath: m + "/client", Imports: []string{m + "/app"}},
			[]violation{{m + "/client", m + "/app", false, ruleAppUser}}},
		{"other package's test imports app", pkg{ImportPath: m + "/client", XTestImports: []string{m + "/app"}},
			[]violation{{m + "/client", m + "/app", true, ruleAppUser}}},
		{"other package imports internal", pkg{ImportPath: m + "/migrations", Imports: []string{m + "/internal/config"}},
			[]violation{{m + "/migrations", m + "/internal/config", false, ruleInternal}}},
		{"path merely starting with app is not app", pkg{ImportPath: m + "/client", Imports: []string{m + "/apps"}}, nil},
		{"path merely starting with internal is not internal", pkg{ImportPath: m + "/client", Imports: []string{m + "/internals"}}, nil},
		{"test kit in a test is fine", pkg{ImportPath: m + "/client", XTestImports: []string{m + "/testenv"}}, nil},
		{"test kit outside tests", pkg{ImportPath: m + "/client", Imports: []string{m + "/ports/portstest"}},
			[]violation{{m + "/client", m + "/ports/portstest", false, ruleTestKits}}},
		{"packages of other modules are not checked", pkg{ImportPath: "example.com/other/domain", Imports: []string{"github.com/x/y"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := checkImports(m, []pkg{tc.pkg}, isStd)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestCheckImportsUnknownImportsAreNotStandard keeps the check failing safe: an
// import missing from the standard library list is a dependency.
func TestCheckImportsUnknownImportsAreNotStandard(t *testing.T) {
	got := checkImports("example.com/chat",
		[]pkg{{ImportPath: "example.com/chat/domain", Imports: []string{"fmt"}}},
		func(string) bool { return false })
	require.Len(t, got, 1)
	assert.Equal(t, ruleDomain, got[0].Rule)
}

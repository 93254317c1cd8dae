package testtier

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryTierTestIsGated keeps plain `go test ./...` fast and unprivileged: it reads every test
// of the module and checks that
//   - a test named TestRoot… or TestRootKubelet… gates itself in its first statement
//     (testtier.Root, testtier.RealNode, or testnode.Start, which calls RealNode), so the fast tier
//     skips it before building a binary or starting anything;
//   - a test that starts a real node (testnode.Start) is named TestRootKubelet…, and one that
//     asks for root (testtier.Root) is named TestRoot…, so its name says what it needs (a subtest
//     that needs root gates itself inside its t.Run).
func TestEveryTierTestIsGated(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			name := fn.Name.Name
			where := fset.Position(fn.Pos()).String()
			calls := calledGates(fn.Body)
			if strings.HasPrefix(name, "TestRoot") {
				checked++
				if len(fn.Body.List) == 0 || !isGate(fn.Body.List[0]) {
					t.Errorf("%s: %s must start with testtier.Root(t), testtier.RealNode(t) or testnode.Start(…)", where, name)
				}
			}
			if calls["Start"] && !strings.HasPrefix(name, "TestRootKubelet") {
				t.Errorf("%s: %s starts a real node (testnode.Start): name it TestRootKubelet…", where, name)
			}
			if calls["Root"] && !strings.HasPrefix(name, "TestRoot") {
				t.Errorf("%s: %s needs root (testtier.Root): name it TestRoot…", where, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("found only %d TestRoot… tests under %s: is the walk looking at the module?", checked, root)
	}
}

// gateCall names the gate a call expression is: "Root", "RealNode", "Start" (testnode.Start, or
// Start inside package testnode), or "".
func gateCall(e ast.Expr) string {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return ""
	}
	switch fun := call.Fun.(type) {
	case *ast.SelectorExpr:
		if x, ok := fun.X.(*ast.Ident); ok {
			switch {
			case x.Name == "testtier" && (fun.Sel.Name == "Root" || fun.Sel.Name == "RealNode"):
				return fun.Sel.Name
			case x.Name == "testnode" && fun.Sel.Name == "Start":
				return "Start"
			}
		}
	case *ast.Ident:
		if fun.Name == "Start" { // inside package testnode
			return "Start"
		}
	}
	return ""
}

func isGate(s ast.Stmt) bool {
	switch s := s.(type) {
	case *ast.ExprStmt:
		return gateCall(s.X) != ""
	case *ast.AssignStmt:
		return len(s.Rhs) == 1 && gateCall(s.Rhs[0]) != ""
	}
	return false
}

func calledGates(body *ast.BlockStmt) map[string]bool {
	out := map[string]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		if _, sub := n.(*ast.FuncLit); sub {
			return false // a subtest gates itself; its name is not the test's
		}
		if e, ok := n.(ast.Expr); ok {
			if g := gateCall(e); g != "" {
				out[g] = true
			}
		}
		return true
	})
	return out
}

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
//   - a test named TestRoot… or TestRootKubelet… gates itself within its first statements
//     (testtier.Root, testtier.RealNode, testnode.Start… which call RealNode, or a helper of its
//     package that gates first), so the fast tier skips it before building or starting anything;
//   - a test that starts a real node (testnode.Start) is named TestRootKubelet…, and one that
//     asks for root (testtier.Root) is named TestRoot…, so its name says what it needs (a subtest
//     that needs root gates itself inside its t.Run).
func TestEveryTierTestIsGated(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	byDir := map[string][]*ast.File{}
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
		byDir[filepath.Dir(path)] = append(byDir[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, files := range byDir {
		// helpers of the package's tests that gate first thing (startAPIServer…)
		helpers := map[string]bool{}
		for _, f := range files {
			for _, decl := range f.Decls {
				if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Body != nil && gatedEarly(fn.Body.List, nil) {
					helpers[fn.Name.Name] = true
				}
			}
		}
		for _, f := range files {
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
					if !gatedEarly(fn.Body.List, helpers) {
						t.Errorf("%s: %s must call testtier.Root(t), testtier.RealNode(t) or testnode.Start… within its first %d statements, before it builds or starts anything", where, name, gateWindow)
					}
				}
				if calls["Start"] && !strings.HasPrefix(name, "TestRootKubelet") {
					t.Errorf("%s: %s starts a real node (testnode.Start…): name it TestRootKubelet…", where, name)
				}
				if calls["Root"] && !strings.HasPrefix(name, "TestRoot") {
					t.Errorf("%s: %s needs root (testtier.Root): name it TestRoot…", where, name)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("found only %d TestRoot… tests under %s: is the walk looking at the module?", checked, root)
	}
}

// gateWindow: the gate may follow a couple of cheap statements (a tool lookup, a flag read).
const gateWindow = 3

func gatedEarly(stmts []ast.Stmt, helpers map[string]bool) bool {
	for i, st := range stmts {
		if i >= gateWindow {
			break
		}
		if isGate(st, helpers) {
			return true
		}
	}
	return false
}

// gateCall names the gate a call expression is: "Root", "RealNode", "Start" (testnode.Start…, or
// Start… inside package testnode), "helper" (a helper in helpers), or "".
func gateCall(e ast.Expr, helpers map[string]bool) string {
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
			case x.Name == "testnode" && strings.HasPrefix(fun.Sel.Name, "Start"):
				return "Start"
			}
		}
	case *ast.Ident:
		if strings.HasPrefix(fun.Name, "Start") { // inside package testnode
			return "Start"
		}
		if helpers[fun.Name] {
			return "helper"
		}
	}
	return ""
}

func isGate(s ast.Stmt, helpers map[string]bool) bool {
	switch s := s.(type) {
	case *ast.ExprStmt:
		return gateCall(s.X, helpers) != ""
	case *ast.AssignStmt:
		return len(s.Rhs) == 1 && gateCall(s.Rhs[0], helpers) != ""
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
			if g := gateCall(e, nil); g != "" {
				out[g] = true
			}
		}
		return true
	})
	return out
}

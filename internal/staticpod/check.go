package staticpod

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Problem types of CheckPaths beyond the field error types of Issue.
const (
	TypeParseError   = "Parse error"
	TypeUnreadable   = "Unreadable"
	TypeDirectory    = "Directory"
	TypeBackupFile   = "Backup file"
	TypeDuplicatePod = "Duplicate pod"
)

// Problem is one line of `spdoc validate`: an Issue placed in a file.
type Problem struct {
	Path string `json:"path"`
	Pod  string `json:"pod,omitempty"` // <namespace>/<name> when the problem concerns one pod
	Issue
}

// String renders `path:line: field: Type: detail (severity)`.
func (p Problem) String() string {
	loc := p.Path
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.Path, p.Line)
	}
	return fmt.Sprintf("%s: %s (%s)", loc, p.Issue.String(), p.Severity)
}

// CheckResult is the outcome of CheckPaths.
type CheckResult struct {
	Files    int       `json:"files"` // manifests (or configs) read
	Pods     int       `json:"pods"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	Problems []Problem `json:"problems"`

	placed []placedPod // every pod read, for checks across pods (host ports)
}

// CheckOptions select how CheckPaths reads its arguments.
type CheckOptions struct {
	// Config reads file arguments as agent configs (LoadConfig) instead of manifests.
	Config bool
	// PodList reads file arguments as the body of the kubelet's staticPodURL (a Pod or a
	// PodList, DecodeList): one invalid item rejects the whole list. NodeName validates the
	// names the kubelet gives (<name>-<node>).
	PodList  bool
	NodeName string
}

// CheckPaths validates manifest files and directories offline, with the kubelet's rules:
// directories are scanned like the kubelet does (ScanDir: no recursion, dotfiles skipped) and
// checked for pods defined twice and backup files the kubelet loads; a file named explicitly is
// always decoded. An argument that does not exist or cannot be read is an error (the tool
// failed); problems inside the files are in the result.
func CheckPaths(paths []string, opts CheckOptions) (*CheckResult, error) {
	r := &CheckResult{Problems: []Problem{}}
	for _, path := range paths {
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("validating %q: %w", path, err)
		}
		switch {
		case st.IsDir():
			scan := ScanDir(path)
			if scan.Err != "" {
				return nil, fmt.Errorf("validating %q: %s", path, scan.Err)
			}
			r.addScan(scan)
		case !st.Mode().IsRegular():
			// A FIFO would block a read; report what the kubelet would make of it instead.
			r.Files++
			f := ScanFile(path)
			r.add(Problem{Path: path, Issue: Issue{Type: TypeUnreadable, Detail: f.Err, Severity: SeverityError}})
		case opts.PodList:
			data, err := readCapped(path)
			if err != nil {
				return nil, err
			}
			r.AddList(DecodeList(path, data, opts.NodeName))
		case opts.Config:
			data, err := readCapped(path)
			if err != nil {
				return nil, err
			}
			r.Files++
			cfg, err := LoadConfig(path, data)
			if err != nil {
				ce, ok := err.(*ConfigError)
				if !ok {
					return nil, err
				}
				r.add(Problem{Path: path, Issue: Issue{Field: ce.Field, Type: TypeParseError, Detail: ce.Msg, Severity: SeverityError, Line: ce.Line}})
				continue
			}
			for _, p := range cfg.Pods {
				r.addPod(path, p)
			}
		default:
			data, err := readCapped(path)
			if err != nil {
				return nil, err
			}
			r.addFile(DecodeFile(path, data))
		}
	}
	r.explain(paths, opts)
	return r, nil
}

func (r *CheckResult) add(p Problem) {
	r.count(p.Severity, 1)
	r.Problems = append(r.Problems, p)
}

// count adds n (or takes away, n < 0) problems of severity s to the totals.
func (r *CheckResult) count(s Severity, n int) {
	switch s {
	case SeverityError:
		r.Errors += n
	case SeverityWarning:
		r.Warnings += n
	}
}

func (r *CheckResult) addPod(path string, p *StaticPod) {
	r.Pods++
	r.placed = append(r.placed, placedPod{path: path, pod: p})
	for _, is := range p.Issues {
		r.add(Problem{Path: path, Pod: p.Namespace + "/" + p.Name, Issue: is})
	}
}

func (r *CheckResult) addFile(f *File) {
	r.Files++
	if f.Backup {
		r.add(Problem{Path: f.Path, Issue: Issue{Type: TypeBackupFile, Severity: SeverityWarning,
			Detail: "the kubelet loads backup and editor files like any manifest; move it out of the manifest directory"}})
	}
	if f.Parse != nil {
		r.add(Problem{Path: f.Path, Issue: Issue{Type: TypeParseError, Detail: f.Parse.Msg, Severity: SeverityError, Line: f.Parse.Line}})
	}
	for _, w := range f.Warnings {
		r.add(Problem{Path: f.Path, Issue: w})
	}
	for _, p := range f.Pods {
		r.addPod(f.Path, p)
	}
}

func (r *CheckResult) addScan(s *DirScan) {
	for _, f := range s.Files {
		switch f.Kind {
		case KindIgnored:
			// The kubelet never reads dotfiles; neither do we.
		case KindDir:
			r.add(Problem{Path: f.Path, Issue: Issue{Type: TypeDirectory, Severity: SeverityWarning,
				Detail: "the kubelet does not read manifests in subdirectories"}})
		case KindUnreadable:
			r.add(Problem{Path: f.Path, Issue: Issue{Type: TypeUnreadable, Detail: f.Err, Severity: SeverityError}})
		default:
			r.addFile(f)
		}
	}
	dups := Duplicates(s)
	keys := make([]string, 0, len(dups))
	for k := range dups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var files []string
		for _, p := range dups[k] {
			files = append(files, filepath.Base(p.Source))
		}
		for _, p := range dups[k] {
			r.add(Problem{Path: p.Source, Pod: k, Issue: Issue{Field: "metadata.name", Type: TypeDuplicatePod, Value: k, Severity: SeverityError,
				Detail: "defined in " + strings.Join(files, ", ") + ": the kubelet runs only one of them and the pod flaps between the files"}})
		}
	}
}

// WriteText prints one line per problem and a summary line.
func (r *CheckResult) WriteText(w io.Writer) error {
	for _, p := range r.Problems {
		if _, err := fmt.Fprintln(w, p.String()); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%d files, %d pods: %d errors, %d warnings\n", r.Files, r.Pods, r.Errors, r.Warnings)
	return err
}

// WriteJSON prints the result as one indented JSON object.
func (r *CheckResult) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

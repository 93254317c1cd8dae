// Manifest phase: the directory scan and spdoc's validation become file and pod findings.

package diagnose

import (
	"fmt"
	"strings"

	"github.com/spdoc/spdoc/internal/staticpod"
)

// manifestRules turns the directory scan and validation results into findings.
func (a *analyzer) manifestRules() {
	scan := a.s.Manifests
	if (scan == nil || !scan.Exists || (scan.Err != "" && len(scan.Files) == 0)) && !urlOnly(a.s) {
		b := a.node.get(KindManifestDirMissing, "")
		msg := "path does not exist"
		if scan != nil && scan.Err != "" {
			msg = scan.Err
		}
		b.pre = append(b.pre, Evidence{Source: "manifest:" + a.dir, Line: msg, Count: 1})
	}
	if scan == nil && a.s.StaticPodURL == nil {
		return
	}
	for _, f := range a.s.SourceFiles() { // the manifests, then the kubelet's URL list
		if f == nil {
			continue
		}
		file := a.file(f.Path)
		switch f.Kind {
		case staticpod.KindDir:
			file.fs.get(KindDirectoryIgnored, "").pre = []Evidence{{Source: "manifest:" + f.Path, Line: "directory", Count: 1}}
			continue
		case staticpod.KindIgnored:
			continue
		case staticpod.KindUnreadable:
			file.fs.get(KindFileUnreadable, "").pre = []Evidence{{Source: "manifest:" + f.Path, Line: f.Err, Count: 1}}
			continue
		}
		if f.Parse != nil {
			src := "manifest:" + f.Path
			if f.Parse.Line > 0 {
				src += fmt.Sprintf(":%d", f.Parse.Line)
			}
			file.fs.get(KindManifestUnparseable, "").pre = []Evidence{{Source: src, Line: f.Parse.Error(), Count: 1}}
		}
		if f.Backup {
			file.fs.get(KindBackupFileLoaded, "").pre = []Evidence{{Source: "manifest:" + f.Path, Line: fmt.Sprintf("%s defines %d pod(s)", f.Name, len(f.Pods)), Count: 1}}
		}
		if len(f.Warnings) > 0 {
			b := file.fs.getSeverity(KindManifestWarning, "", warnSeverity(f.Warnings))
			b.pre = append(b.pre, issueEvidence(f.Path, f.Warnings)...)
		}
		for _, p := range f.Pods {
			if p == nil {
				continue
			}
			pod := a.pods[p.ID]
			var errs, warns []staticpod.Issue
			for _, is := range p.Issues {
				if is.Severity == staticpod.SeverityError {
					errs = append(errs, is)
				} else {
					warns = append(warns, is)
				}
			}
			if len(errs) > 0 {
				b := pod.fs.get(KindManifestInvalid, "")
				b.f.File = f.Path
				b.pre = append(b.pre, issueEvidence(f.Path, errs)...)
			}
			if len(warns) > 0 {
				b := pod.fs.getSeverity(KindManifestWarning, "", warnSeverity(warns))
				b.f.File = f.Path
				b.pre = append(b.pre, issueEvidence(f.Path, warns)...)
			}
		}
	}
	for _, id := range a.ix.order {
		e := a.ix.pods[id]
		if len(e.pods) < 2 {
			continue
		}
		var paths []string
		for _, p := range e.pods {
			paths = append(paths, p.Source)
		}
		pb := a.pods[id].fs.get(KindDuplicatePod, "")
		for _, p := range e.pods {
			ev := Evidence{Source: "manifest:" + p.Source, Line: fmt.Sprintf("defines %s/%s", e.ns, e.name), Count: 1}
			pb.pre = append(pb.pre, ev)
		}
		for _, p := range e.pods {
			fileDup := a.file(p.Source).fs.get(KindDuplicatePod, "")
			if len(fileDup.pre) == 0 {
				fileDup.pre = append(fileDup.pre, pb.pre...)
			}
			fileDup.f.Pod = id
		}
	}
}

// warnSeverity: advice ("Not recommended": no resources, :latest…) is info; a field the kubelet
// silently drops is a warning, since the pod does not run as written.
func warnSeverity(issues []staticpod.Issue) Severity {
	for _, is := range issues {
		if !strings.EqualFold(is.Type, "Not recommended") {
			return SeverityWarning
		}
	}
	return SeverityInfo
}

func issueEvidence(path string, issues []staticpod.Issue) []Evidence {
	out := make([]Evidence, 0, len(issues))
	for _, is := range issues {
		src := "manifest:" + path
		if is.Line > 0 {
			src += fmt.Sprintf(":%d", is.Line)
		}
		out = append(out, Evidence{Source: src, Line: is.String(), Count: 1})
	}
	return out
}

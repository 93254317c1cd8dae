package diagnose

// Scope keeps only the pods keep accepts, and the files that define them or no pod at all
// (a file that does not parse may be the pod asked about); node findings stay, since they
// concern every pod. The summary is recomputed for what is left.
func (r *Report) Scope(keep func(PodReport) bool) {
	if r == nil {
		return
	}
	kept := r.Pods[:0:0]
	ids := map[string]bool{}
	for _, p := range r.Pods {
		if keep(p) {
			kept = append(kept, p)
			ids[p.ID] = true
		}
	}
	files := r.Files[:0:0]
	for _, f := range r.Files {
		mine := false
		for _, id := range f.Pods {
			mine = mine || ids[id]
		}
		if mine {
			files = append(files, f)
		}
	}
	r.Pods, r.Files = kept, files
	r.Summary = summarize(r)
}

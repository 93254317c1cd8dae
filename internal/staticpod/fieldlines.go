package staticpod

// FieldLines indexes a manifest's first YAML (or JSON) document and returns a lookup from a
// kubelet-style field path ("spec.containers[0].command[3]") to its 1-based line, falling back to
// the nearest indexed parent (0 when nothing matches). Other packages use it to point at the line
// that holds a flag or a volume, the same way validation issues do.
func FieldLines(data []byte) func(field string) int {
	return indexLines(data).line
}

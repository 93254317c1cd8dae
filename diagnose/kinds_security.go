package diagnose

// KindManifestWriteFailed is the agent's: a manifest it had to write or remove could not be (a
// read-only or full manifest dir, a name the writer refuses, something in the way). It stays a
// finding until the write or removal succeeds; meanwhile the kubelet keeps running what is on
// disk — the previous manifest, or one that should be gone.
const KindManifestWriteFailed Kind = "ManifestWriteFailed"

func init() {
	registerKinds(kindSpec{Kind: KindManifestWriteFailed, Rank: 55, Severity: SeverityError, Describe: describeManifestWriteFailed})
}

// describeManifestWriteFailed words a bare finding; the agent writes its own title (which pod,
// write or removal) and detail (the error) and keeps them.
func describeManifestWriteFailed(f *Finding, b *findingBuilder, tc textCtx) {
	if f.Title == "" {
		f.Title = "a manifest could not be written or removed: " + ellipsis(orDefault(firstErr(b), "unknown error"), 120)
	}
	if f.Detail == "" {
		f.Detail = "The kubelet keeps running what is on disk: the previous manifest, or one the config no longer has."
	}
	if f.Hint == "" {
		f.Hint = "check that the manifest directory is writable (read-only mount, full disk, permissions); the agent retries until it succeeds"
	}
}

package redact

import "regexp"

// The kubelet logs its staticPodURL headers in clear when it starts ("Adding pod URL with HTTP
// header" URL="…" header=map[X-Token:[value]], or "header":{"X-Token":["value"]} in JSON); they
// are usually credentials (Talos and cloud metadata endpoints put tokens there). The whole map is
// a secret: header names are not worth a parser that could leak a value. A klog map is the
// line's last key (greedy to its last ']'); a JSON object ends at the first "]}", which keeps the
// rest of the record valid JSON.
func init() {
	patterns = append(patterns,
		pattern{
			kind: KindHeader, hint: "pod url with http header", group: 1,
			re: regexp.MustCompile(`\bheader=(map\[.*\])`),
		},
		pattern{
			kind: KindHeader, hint: "pod url with http header", group: 2, quote: 1,
			re: regexp.MustCompile(`(\\?)"header\\?":\s*(\{\}|\{.*?\]\s*\})`),
		})
}

package styles

import (
	"bytes"
	"strconv"
	"strings"
)

// parseBackground reads an OSC 11 answer, ESC ] 11 ; rgb:RRRR/GGGG/BBBB (1 to 4 hex digits per
// channel) ended by BEL or ESC \, from what the terminal sent, and says whether that colour is
// dark (relative luminance below one half).
func parseBackground(b []byte) (dark, ok bool) {
	i := bytes.Index(b, []byte("\x1b]11;"))
	if i < 0 {
		return false, false
	}
	rest := b[i+5:]
	end := bytes.IndexAny(rest, "\x07\x1b")
	if end < 0 {
		return false, false
	}
	spec, found := strings.CutPrefix(string(rest[:end]), "rgb:")
	if !found {
		spec, found = strings.CutPrefix(spec, "rgba:")
		if !found {
			return false, false
		}
	}
	parts := strings.Split(spec, "/")
	if len(parts) < 3 {
		return false, false
	}
	var c [3]float64
	for k := range 3 {
		p := parts[k]
		if len(p) == 0 || len(p) > 4 {
			return false, false
		}
		v, err := strconv.ParseUint(p, 16, 16)
		if err != nil {
			return false, false
		}
		c[k] = float64(v) / float64(uint64(1)<<(4*len(p))-1)
	}
	lum := 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
	return lum < 0.5, true
}

package styles

import (
	"testing"

	"github.com/muesli/termenv"
)

func TestNoColorForcesASCII(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	r := NewRenderer()
	if p := r.ColorProfile(); p != termenv.Ascii {
		t.Fatalf("profile %v with NO_COLOR set", p)
	}
	if got := New(r).Error.Render("x"); got != "x" {
		t.Errorf("styled output under NO_COLOR: %q", got)
	}
}

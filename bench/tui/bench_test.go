package main

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/tui"
	"github.com/spdoc/spdoc/tui/components/logview"
	"github.com/spdoc/spdoc/tui/fakeclient"
)

// BenchmarkKeyFrame is the cost of one key (Update) plus the frame that shows it (View) on a
// pane holding 1M appended lines, ring (keeps 10k) vs unbounded slice, with and without a filter
// that matches one line in 1000.
func BenchmarkKeyFrame(b *testing.B) {
	for _, store := range []string{"ring", "slice"} {
		for _, filter := range []string{"", "id=[0-9]*999 "} {
			b.Run(fmt.Sprintf("store=%s/filter=%q", store, filter), func(b *testing.B) {
				m := tui.New(tui.Env{Client: fakeclient.New(snapshot()), Analyze: func(*node.Snapshot) *diagnose.Report { return report() }}, nil)
				if store == "slice" {
					m.Pods().SetLogStore(&sliceStore{}, &sliceStore{})
				}
				m.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
				m.Update(m.Init()())
				defer m.Pods().StopStreams()
				pane := m.Pods().ContainerLog()
				batch := make([]logview.Line, 1000)
				for n := 0; n < 1000; n++ {
					for i := range batch {
						id := n*1000 + i
						batch[i] = logview.Line{TS: time.Unix(int64(id), 0), Stream: "stdout",
							Text: fmt.Sprintf("level=info msg=\"handled request\" id=%d path=/api/v1/pods status=200", id)}
					}
					pane.Append(batch)
				}
				if err := pane.SetFilter(filter); err != nil {
					b.Fatal(err)
				}
				m.Update(tea.KeyMsg{Type: tea.KeyEnter})
				keys := []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune("k")}, {Type: tea.KeyRunes, Runes: []rune("w")},
					{Type: tea.KeyRunes, Runes: []rune("G")}, {Type: tea.KeyRunes, Runes: []rune("t")}}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					m.Update(keys[i%len(keys)])
					_ = m.View()
				}
			})
		}
	}
}

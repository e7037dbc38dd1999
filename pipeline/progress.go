package pipeline

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress draws a one-line progress bar on a terminal, and prints a plain
// line every tenth of the way otherwise (logs, CI).
type progress struct {
	w        io.Writer
	label    string
	total    int
	tty      bool
	start    time.Time
	lastLine int
	drawn    bool
}

func newProgress(w io.Writer, label string, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, label: label, total: total, tty: tty, start: time.Now(), lastLine: -1}
}

func (p *progress) update(step int, status string) {
	elapsed := time.Since(p.start)
	eta := time.Duration(0)
	if step > 0 {
		eta = time.Duration(float64(elapsed) / float64(step) * float64(p.total-step))
	}
	if p.tty {
		const width = 24
		fill := width * step / max(p.total, 1)
		fmt.Fprintf(p.w, "\r%-4s [%s%s] %d/%d  %s  %s<%s ", p.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
			step, p.total, status, elapsed.Round(time.Second), eta.Round(time.Second))
		p.drawn = true
		return
	}
	tenth := step * 10 / max(p.total, 1)
	if tenth != p.lastLine || step == p.total {
		p.lastLine = tenth
		fmt.Fprintf(p.w, "%s %d/%d  %s  (%s elapsed)\n", p.label, step, p.total, status, elapsed.Round(time.Second))
	}
}

func (p *progress) done() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

package pipeline

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/frontier-rl/frontier/rl"
	"github.com/frontier-rl/frontier/weights"
)

// writePlot draws four panels from the step metrics: reward and accuracy,
// the prompts per difficulty bin, Prompt-GDRO's weight per bin, and the
// rollouts per prompt in each bin, and writes them as one PNG.
func writePlot(path string, history []rl.Metrics, bins int, algo string) error {
	if len(history) == 0 {
		return fmt.Errorf("no steps to plot")
	}
	series := func(key string) plotter.XYs {
		var xy plotter.XYs
		for _, m := range history {
			if v, ok := m[key]; ok {
				xy = append(xy, plotter.XY{X: m["step"], Y: v})
			}
		}
		return xy
	}
	panel := func(title, ylabel string) *plot.Plot {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "GRPO step"
		p.Y.Label.Text = ylabel
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
		return p
	}
	addLine := func(p *plot.Plot, name string, xy plotter.XYs, i int) {
		nonZero := false
		for _, v := range xy {
			nonZero = nonZero || v.Y != 0
		}
		if !nonZero {
			return // a bin that never appears would only clutter the legend
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7) // the palette has 7 colours
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(name, l)
	}
	curves := panel("Training reward and accuracy ("+algo+")", "")
	addLine(curves, "reward", series("reward"), 0)
	addLine(curves, "accuracy", series("accuracy"), 1)
	if ev := evalSeries(history, "mean@"); len(ev) > 0 {
		if sc, err := plotter.NewScatter(ev); err == nil {
			sc.Color = plotutil.Color(2)
			sc.Shape = draw.CircleGlyph{}
			sc.Radius = vg.Points(3)
			curves.Add(sc)
			curves.Legend.Add("held-out mean@k", sc)
		}
	}
	counts := panel("Prompts per difficulty bin", "prompts in batch")
	weightsP := panel("Prompt-GDRO weight per bin", "weight")
	rollouts := panel("Rollouts per prompt per bin", "rollouts")
	for b := 0; b < bins; b++ {
		s := strconv.Itoa(b)
		addLine(counts, "bin "+s, series("gdro/bin_count/"+s), b)
		addLine(weightsP, "bin "+s, series("gdro/prompt_weight/"+s), b)
		addLine(rollouts, "bin "+s, series("gdro/rollouts/"+s), b)
	}
	if len(series("gdro/prompt_weight/0")) == 0 {
		weightsP.Title.Text += " (off)"
	}
	const w, h = 30 * vg.Centimeter, 22 * vg.Centimeter
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	plots := [][]*plot.Plot{{curves, counts}, {weightsP, rollouts}}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(canvases[i][j])
		}
	}
	return writePNGAtomic(path, img)
}

// evalSeries collects the periodic evaluation's mean@k, if any.
func evalSeries(history []rl.Metrics, prefix string) plotter.XYs {
	var xy plotter.XYs
	for _, m := range history {
		for k, v := range m {
			if strings.HasPrefix(k, "eval/"+prefix) {
				xy = append(xy, plotter.XY{X: m["step"], Y: v})
			}
		}
	}
	return xy
}

// writePNGAtomic encodes the image and writes it atomically.
func writePNGAtomic(path string, img *vgimg.Canvas) error {
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return err
	}
	return weights.WriteFileAtomic(path, buf.Bytes(), 0o644)
}

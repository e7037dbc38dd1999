package main

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/frontier-rl/frontier/weights"
)

// binGrid is a [bin][step] grid for a heat map: columns are steps (from 1),
// rows are bins.
type binGrid [][]float64

func (g binGrid) Dims() (c, r int) { return len(g[0]), len(g) }
func (g binGrid) Z(c, r int) float64 {
	return g[r][c]
}
func (g binGrid) X(c int) float64 { return float64(c + 1) }
func (g binGrid) Y(r int) float64 { return float64(r) }

// heatPanel draws one bin x step heat map with its value range in the title.
func heatPanel(title string, g [][]float64) *plot.Plot {
	p := plot.New()
	p.X.Label.Text = "GRPO step"
	p.Y.Label.Text = "difficulty bin"
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range g {
		for _, v := range row {
			if !math.IsNaN(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		p.Title.Text = title + " (off)"
		return p
	}
	if hi == lo {
		hi = lo + 1e-9
	}
	p.Title.Text = fmt.Sprintf("%s (blue %.3g .. red %.3g; grey: bin empty)", title, lo, hi)
	if !hasNaN(g) {
		p.Title.Text = fmt.Sprintf("%s (blue %.3g .. red %.3g)", title, lo, hi)
	}
	pal := moreland.SmoothBlueRed()
	pal.SetMin(lo)
	pal.SetMax(hi)
	hm := plotter.NewHeatMap(binGrid(g), pal.Palette(64))
	hm.Min, hm.Max = lo, hi
	hm.NaN = color.Gray{Y: 220}
	p.Add(hm)
	return p
}

// hasNaN reports whether a grid has an empty entry.
func hasNaN(g [][]float64) bool {
	for _, row := range g {
		for _, v := range row {
			if math.IsNaN(v) {
				return true
			}
		}
	}
	return false
}

// writeCurriculum draws an arm's three heat maps into one PNG.
func writeCurriculum(path, arm string, cu curriculum) error {
	if cu.steps == 0 || len(cu.weight) == 0 {
		return fmt.Errorf("%s: no steps to draw", arm)
	}
	plots := [][]*plot.Plot{
		{heatPanel(arm+": Prompt-GDRO weight per bin", cu.weight)},
		{heatPanel(arm+": rollouts per prompt", cu.rollouts)},
		{heatPanel(arm+": share of the batch in the bin", cu.occupancy)},
	}
	return drawPNG(path, plots, 30*vg.Centimeter, 30*vg.Centimeter)
}

// writeEffGrad draws, per arm, the share of zero-variance groups and of the
// rollouts spent on them in each bin, as grouped bars.
func writeEffGrad(path string, arms []string, eg map[string]effGrad, bins int) error {
	groupsP, rolloutsP := plot.New(), plot.New()
	groupsP.Title.Text = "Share of prompt groups with zero reward variance"
	rolloutsP.Title.Text = "Share of rollouts spent on zero-variance groups"
	w := vg.Points(float64(60) / float64(max(len(arms), 1)))
	for _, p := range []*plot.Plot{groupsP, rolloutsP} {
		p.X.Label.Text = "difficulty bin"
		p.Y.Min, p.Y.Max = 0, 1
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
	}
	for i, arm := range arms {
		e := eg[arm]
		gv, rv := make(plotter.Values, bins), make(plotter.Values, bins)
		for b := 0; b < bins; b++ {
			gv[b] = zeroIfNaN(share(e.zeroGroups[b], e.groups[b]))
			rv[b] = zeroIfNaN(share(e.zeroRollouts[b], e.rollouts[b]))
		}
		for j, pair := range []struct {
			p *plot.Plot
			v plotter.Values
		}{{groupsP, gv}, {rolloutsP, rv}} {
			bars, err := plotter.NewBarChart(pair.v, w)
			if err != nil {
				return err
			}
			bars.Color = plotutil.Color(i)
			bars.LineStyle.Width = 0
			bars.Offset = w * vg.Length(float64(i)-float64(len(arms)-1)/2)
			pair.p.Add(bars)
			if j == 0 {
				groupsP.Legend.Add(arm, bars)
			} else {
				rolloutsP.Legend.Add(arm, bars)
			}
		}
	}
	return drawPNG(path, [][]*plot.Plot{{groupsP}, {rolloutsP}}, 30*vg.Centimeter, 22*vg.Centimeter)
}

func zeroIfNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// drawPNG lays plots out in a grid and writes them as one PNG atomically.
func drawPNG(path string, plots [][]*plot.Plot, w, h vg.Length) error {
	img := vgimg.New(w, h)
	dc := draw.New(img)
	pad := vg.Millimeter * 3
	tiles := draw.Tiles{Rows: len(plots), Cols: len(plots[0]), PadX: pad, PadY: pad, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(canvases[i][j])
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return err
	}
	return weights.WriteFileAtomic(path, buf.Bytes(), 0o644)
}

package report

import (
	"bufio"
	"cmp"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PNGOptions says how WritePNG draws a panel. The zero value is a 1200×750
// pixel image at 150 dpi with linear axes.
type PNGOptions struct {
	WidthPx, HeightPx int // image size in pixels (default 1200×750)
	DPI               int // resolution, sets the size of text (default 150)
	// LogX and LogY put the axis on a log₁₀ scale. Every value drawn on
	// that axis (Y, P99, error bar bounds; X) must then be positive. A
	// categorical panel cannot have LogX.
	LogX, LogY bool
}

func (o PNGOptions) withDefaults() PNGOptions {
	if o.WidthPx == 0 {
		o.WidthPx = 1200
	}
	if o.HeightPx == 0 {
		o.HeightPx = 750
	}
	if o.DPI == 0 {
		o.DPI = 150
	}
	return o
}

// palette is Okabe and Ito's colour-blind safe set, one colour per system.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
}

var glyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
	draw.PlusGlyph{}, draw.RingGlyph{}, draw.PyramidGlyph{},
}

// WritePNG draws p into dir/p.Name.png and returns the path. A numeric panel
// gets one line with markers per system (the Y values), a dashed line of the
// same colour for P99 where measured, and error bars where Err is set. A
// categorical panel gets grouped bars per category, one bar per system, with
// a whisker to P99 (or the Err interval when set). The legend is drawn beside
// the plot, never over the data. Errors wrap ErrInvalid for data the plot
// cannot show (see PNGOptions) and a panel without points.
func WritePNG(dir string, p Panel, opt PNGOptions) (string, error) {
	path := filepath.Join(dir, p.Name+".png")
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	w := bufio.NewWriter(f)
	err = EncodePNG(w, p, opt)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("report: write %s: %w", path, err)
	}
	return path, nil
}

// EncodePNG draws p as WritePNG does and writes the PNG to w.
func EncodePNG(w io.Writer, p Panel, opt PNGOptions) error {
	opt = opt.withDefaults()
	if err := checkPlottable(p, opt); err != nil {
		return err
	}
	plt := plot.New()
	plt.Title.Text = p.Title
	if plt.Title.Text == "" {
		plt.Title.Text = p.Name
	}
	plt.Title.Padding = vg.Points(6)
	plt.X.Label.Text = p.X.Title()
	plt.Y.Label.Text = p.Y.Title()
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{0xdd}
	grid.Horizontal.Color = color.Gray{0xdd}
	plt.Add(grid)

	var entries []legendEntry
	if len(p.Categories) > 0 {
		entries = addBars(plt, p, opt)
	} else {
		var err error
		if entries, err = addLines(plt, p); err != nil {
			return err
		}
	}
	setScales(plt, p, opt)

	// Legend: measured, then drawn in its own column right of the plot.
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.ThumbnailWidth = vg.Points(22)
	leg.Padding = vg.Points(3)
	var textW vg.Length
	for _, e := range entries {
		leg.Add(e.name, e.thumbs...)
		textW = max(textW, leg.TextStyle.Width(e.name))
	}
	legendW := leg.ThumbnailWidth + textW + leg.TextStyle.Width("  ") + vg.Points(8)

	wPt := vg.Length(opt.WidthPx) * vg.Inch / vg.Length(opt.DPI)
	hPt := vg.Length(opt.HeightPx) * vg.Inch / vg.Length(opt.DPI)
	if legendW > wPt/2 {
		return fmt.Errorf("%w: panel %s: legend wider than half the image", ErrInvalid, p.Name)
	}
	img := vgimg.NewWith(vgimg.UseWH(wPt, hPt), vgimg.UseDPI(opt.DPI))
	dc := draw.New(img)
	plt.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
	// Top of the legend level with the top of the data area.
	titleH := plt.Title.TextStyle.Height(plt.Title.Text) + plt.Title.Padding
	leg.Draw(draw.Crop(dc, wPt-legendW+vg.Points(6), 0, 0, -titleH))
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// legendEntry is one line of the legend.
type legendEntry struct {
	name   string
	thumbs []plot.Thumbnailer
}

// checkPlottable validates p and what opt asks of it.
func checkPlottable(p Panel, opt PNGOptions) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if opt.WidthPx < 200 || opt.HeightPx < 150 || opt.DPI < 1 {
		return fmt.Errorf("%w: image %d×%d px at %d dpi is too small", ErrInvalid, opt.WidthPx, opt.HeightPx, opt.DPI)
	}
	if opt.LogX && len(p.Categories) > 0 {
		return fmt.Errorf("%w: panel %s: a categorical X axis cannot be logarithmic", ErrInvalid, p.Name)
	}
	n := 0
	for _, s := range p.Series {
		for i, pt := range s.Points {
			n++
			if opt.LogX && pt.X <= 0 {
				return fmt.Errorf("%w: panel %s, %s point %d: x = %v on a log axis", ErrInvalid, p.Name, s.System, i, pt.X)
			}
			if opt.LogY && (pt.Y <= 0 || pt.P99 < 0 || (pt.Err != nil && pt.Err.Lo <= 0)) {
				return fmt.Errorf("%w: panel %s, %s point %d: non-positive y on a log axis", ErrInvalid, p.Name, s.System, i)
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: panel %s has no points to plot", ErrInvalid, p.Name)
	}
	return nil
}

// xyErr is one series' points as plotter data: XY, and YError as distances
// below and above Y.
type xyErr []Point

func (d xyErr) Len() int                    { return len(d) }
func (d xyErr) XY(i int) (float64, float64) { return d[i].X, d[i].Y }
func (d xyErr) YError(i int) (float64, float64) {
	return d[i].Y - d[i].Err.Lo, d[i].Err.Hi - d[i].Y
}

// addLines adds the plotters of a numeric panel and returns its legend.
func addLines(plt *plot.Plot, p Panel) ([]legendEntry, error) {
	var entries []legendEntry
	anyP99 := false
	for i, s := range p.Series {
		if len(s.Points) == 0 {
			continue
		}
		col := palette[i%len(palette)]
		pts := slices.Clone(s.Points)
		slices.SortStableFunc(pts, func(a, b Point) int { return cmp.Compare(a.X, b.X) })
		line, scatter, err := plotter.NewLinePoints(xyErr(pts))
		if err != nil {
			return nil, fmt.Errorf("report: panel %s, %s: %w", p.Name, s.System, err)
		}
		line.Color, line.Width = col, vg.Points(1.5)
		scatter.Color, scatter.Shape, scatter.Radius = col, glyphs[i%len(glyphs)], vg.Points(3)
		plt.Add(line, scatter)
		entries = append(entries, legendEntry{s.System, []plot.Thumbnailer{line, scatter}})

		var p99 plotter.XYs
		var withErr xyErr
		for _, pt := range pts {
			if pt.P99 != 0 {
				p99 = append(p99, plotter.XY{X: pt.X, Y: pt.P99})
			}
			if pt.Err != nil {
				withErr = append(withErr, pt)
			}
		}
		if len(p99) > 0 {
			anyP99 = true
			l, err := plotter.NewLine(p99)
			if err != nil {
				return nil, fmt.Errorf("report: panel %s, %s p99: %w", p.Name, s.System, err)
			}
			l.Color, l.Width, l.Dashes = col, vg.Points(1.2), []vg.Length{vg.Points(5), vg.Points(3)}
			plt.Add(l)
		}
		if len(withErr) > 0 {
			eb, err := plotter.NewYErrorBars(withErr)
			if err != nil {
				return nil, fmt.Errorf("report: panel %s, %s error bars: %w", p.Name, s.System, err)
			}
			eb.Color, eb.Width = col, vg.Points(1.2)
			plt.Add(eb)
		}
	}
	if anyP99 {
		key, _ := plotter.NewLine(plotter.XYs{})
		key.Color, key.Width, key.Dashes = color.Gray{0x55}, vg.Points(1.2), []vg.Length{vg.Points(5), vg.Points(3)}
		entries = append(entries,
			legendEntry{"solid: median", []plot.Thumbnailer{solidKey()}},
			legendEntry{"dashed: p99", []plot.Thumbnailer{key}})
	}
	return entries, nil
}

func solidKey() plot.Thumbnailer {
	l, _ := plotter.NewLine(plotter.XYs{})
	l.Color, l.Width = color.Gray{0x55}, vg.Points(1.5)
	return l
}

// addBars adds the grouped bars of a categorical panel and returns its
// legend.
func addBars(plt *plot.Plot, p Panel, opt PNGOptions) []legendEntry {
	plt.NominalX(p.Categories...)
	g := &groupedBars{panel: p, log: opt.LogY}
	plt.Add(g)
	var entries []legendEntry
	whiskers := ""
	for i, s := range p.Series {
		col := palette[i%len(palette)]
		entries = append(entries, legendEntry{s.System, []plot.Thumbnailer{swatch(col)}})
		for _, pt := range s.Points {
			switch {
			case pt.Err != nil:
				whiskers = "whisker: error bar"
			case pt.P99 != 0 && whiskers == "":
				whiskers = "whisker: p99"
			}
		}
	}
	if whiskers != "" {
		entries = append(entries, legendEntry{"bar: median", nil}, legendEntry{whiskers, nil})
	}
	return entries
}

// swatch is a filled square legend thumbnail.
type swatch color.RGBA

func (s swatch) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	side := min(r.Max.Y-r.Min.Y, r.Max.X-r.Min.X) * 0.8
	cx, cy := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2
	c.FillPolygon(color.RGBA(s), []vg.Point{
		{X: cx - side/2, Y: cy - side/2}, {X: cx - side/2, Y: cy + side/2},
		{X: cx + side/2, Y: cy + side/2}, {X: cx + side/2, Y: cy - side/2},
	})
}

// groupedBars draws a categorical panel: in each category, one bar per
// system side by side, from the axis base (0, or the bottom of a log axis)
// to Y, with a whisker over Err or up to P99.
type groupedBars struct {
	panel Panel
	log   bool
}

// DataRange implements plot.DataRanger.
func (g *groupedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = -0.5, float64(len(g.panel.Categories))-0.5
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for _, s := range g.panel.Series {
		for _, pt := range s.Points {
			lo, hi := pointRange(pt)
			ymin, ymax = min(ymin, lo), max(ymax, hi)
		}
	}
	if !g.log {
		ymin = min(ymin, 0)
	}
	return xmin, xmax, ymin, ymax
}

// pointRange is the lowest and highest Y drawn for pt.
func pointRange(pt Point) (lo, hi float64) {
	lo, hi = pt.Y, pt.Y
	if pt.P99 != 0 {
		lo, hi = min(lo, pt.P99), max(hi, pt.P99)
	}
	if pt.Err != nil {
		lo, hi = min(lo, pt.Err.Lo), max(hi, pt.Err.Hi)
	}
	return lo, hi
}

// Plot implements plot.Plotter.
func (g *groupedBars) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	n := len(g.panel.Series)
	group := (trX(1) - trX(0)) * 0.8
	slot := group / vg.Length(n)
	base := c.Min.Y
	if !g.log {
		base = trY(0)
	}
	thin := draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}
	for i, s := range g.panel.Series {
		col := palette[i%len(palette)]
		for _, pt := range s.Points {
			left := trX(pt.X) - group/2 + vg.Length(i)*slot + slot*0.05
			right := left + slot*0.9
			top := trY(pt.Y)
			rect := []vg.Point{{X: left, Y: base}, {X: left, Y: top}, {X: right, Y: top}, {X: right, Y: base}}
			c.FillPolygon(col, c.ClipPolygonY(rect))
			c.StrokeLines(thin, c.ClipLinesY(append(rect, rect[0]))...)

			var wlo, whi float64
			switch {
			case pt.Err != nil:
				wlo, whi = pt.Err.Lo, pt.Err.Hi
			case pt.P99 != 0:
				wlo, whi = pt.Y, pt.P99
			default:
				continue
			}
			mid := (left + right) / 2
			capW := slot * 0.2
			ws := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
			ylo, yhi := trY(wlo), trY(whi)
			c.StrokeLines(ws, c.ClipLinesY([]vg.Point{{X: mid, Y: ylo}, {X: mid, Y: yhi}})...)
			c.StrokeLines(ws, c.ClipLinesY([]vg.Point{{X: mid - capW, Y: yhi}, {X: mid + capW, Y: yhi}})...)
			if pt.Err != nil {
				c.StrokeLines(ws, c.ClipLinesY([]vg.Point{{X: mid - capW, Y: ylo}, {X: mid + capW, Y: ylo}})...)
			}
		}
	}
}

// setScales sets the axis ranges, scales and tickers once the data is in.
func setScales(plt *plot.Plot, p Panel, opt PNGOptions) {
	if opt.LogX {
		plt.X.Scale = plot.LogScale{}
		plt.X.Tick.Marker = plot.TickerFunc(logTicks)
		plt.X.Min, plt.X.Max = plt.X.Min/1.25, plt.X.Max*1.25
	} else if len(p.Categories) == 0 {
		pad := (plt.X.Max - plt.X.Min) * 0.03
		plt.X.Min, plt.X.Max = plt.X.Min-pad, plt.X.Max+pad
		plt.X.Tick.Marker = plot.TickerFunc(linearTicks)
	}
	if opt.LogY {
		plt.Y.Scale = plot.LogScale{}
		plt.Y.Tick.Marker = plot.TickerFunc(logTicks)
		plt.Y.Min, plt.Y.Max = plt.Y.Min/1.5, plt.Y.Max*1.5
	} else {
		// Linear: start at zero when everything is positive, so heights
		// compare honestly; leave headroom above the highest value.
		if plt.Y.Min > 0 {
			plt.Y.Min = 0
		}
		if plt.Y.Max == plt.Y.Min {
			plt.Y.Max = plt.Y.Min + 1
		}
		plt.Y.Max += (plt.Y.Max - plt.Y.Min) * 0.05
		plt.Y.Tick.Marker = plot.TickerFunc(linearTicks)
	}
}

// linearTicks returns ticks for a linear axis over [lo, hi]: 4 to 10 labelled
// ticks at multiples of 1, 2 or 5·10^k, and one unlabelled tick between each.
func linearTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	raw := (hi - lo) / 6
	mag := math.Pow10(int(math.Floor(math.Log10(raw))))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	decimals := max(0, -int(math.Floor(math.Log10(step))))
	var ticks []plot.Tick
	for i := math.Ceil(lo / step); i*step <= hi+step*1e-9; i++ {
		v := i * step
		if v == 0 {
			v = 0 // not -0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', decimals, 64)})
		if mid := v + step/2; mid <= hi {
			ticks = append(ticks, plot.Tick{Value: mid})
		}
	}
	if first := math.Ceil(lo/step)*step - step/2; first >= lo {
		ticks = append([]plot.Tick{{Value: first}}, ticks...)
	}
	return ticks
}

// logTicks returns ticks for a log axis over [lo, hi]: minor ticks at
// m·10^k, labels at 1·10^k, and also at 2 and 5·10^k when the axis spans at
// most three decades; at least two labels in all.
func logTicks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	kmin, kmax := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	labelled := func(m int) bool { return m == 1 || (kmax-kmin <= 3 && (m == 2 || m == 5)) }
	var ticks []plot.Tick
	nlab := 0
	for k := kmin; k <= kmax; k++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(k)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if labelled(m) {
				t.Label = tickLabel(v)
				nlab++
			}
			ticks = append(ticks, t)
		}
	}
	if nlab < 2 { // less than a decade: label every tick
		for i := range ticks {
			ticks[i].Label = tickLabel(ticks[i].Value)
		}
		if len(ticks) < 2 {
			ticks = append(ticks, plot.Tick{Value: lo, Label: tickLabel(lo)}, plot.Tick{Value: hi, Label: tickLabel(hi)})
		}
	}
	return ticks
}

func tickLabel(v float64) string {
	// m·10^k in floating point can be 0.30000000000000004: drop the noise.
	v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if v >= 1e-4 && v < 1e7 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

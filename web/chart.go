package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/podseed/podseed/store"
)

// sparklineWindow is how far back the feed page's sparklines reach.
const sparklineWindow = 24 * time.Hour

// lineChart is the model of the "chart" template: an inline SVG with one
// polyline per series, drawn on the server.
type lineChart struct {
	Width, Height int
	// Label describes the chart to assistive technology (aria-label).
	Label string
	// Axes, if set, draws the plot area's left and bottom edges.
	Axes bool
	// Plot area in SVG user units.
	Left, Top, Right, Bottom float64
	Series                   []chartSeries
	XLabels, YLabels         []chartLabel
}

// chartSeries is one polyline.
type chartSeries struct {
	// Class is its CSS class, which sets its colour.
	Class string
	// Points is the polyline's points attribute: "x,y x,y …", one pair
	// per sample.
	Points string
}

// chartLabel is an axis label at (X, Y); Anchor is its text-anchor.
type chartLabel struct {
	X, Y         float64
	Text, Anchor string
}

// seriesSpec is a series' CSS class and how to read its value from a
// sample.
type seriesSpec struct {
	class string
	value func(store.SwarmSample) int
}

// chartSpec is a chart's geometry and series.
type chartSpec struct {
	width, height            int
	label                    string
	axes                     bool
	left, top, right, bottom float64 // margins around the plot area
	series                   []seriesSpec
}

var (
	seedersSeries  = seriesSpec{"seeders", func(s store.SwarmSample) int { return s.Seeders }}
	leechersSeries = seriesSpec{"leechers", func(s store.SwarmSample) int { return s.Leechers }}
	peersSeries    = seriesSpec{"peers", func(s store.SwarmSample) int { return s.Seeders + s.Leechers }}
)

// newSparkline is the feed page's small chart of seeders + leechers over
// [from, to], without axes.
func newSparkline(samples []store.SwarmSample, from, to time.Time) lineChart {
	return newLineChart(chartSpec{
		width: 120, height: 24, label: "seeders + leechers, last 24 hours",
		left: 1, top: 2, right: 1, bottom: 2,
		series: []seriesSpec{peersSeries},
	}, samples, from, to)
}

// newSwarmChart is the episode page's chart of seeders and leechers over
// [from, to], with axis labels.
func newSwarmChart(samples []store.SwarmSample, from, to time.Time) lineChart {
	return newLineChart(chartSpec{
		width: 640, height: 220, label: "seeders and leechers over time", axes: true,
		left: 48, top: 12, right: 16, bottom: 28,
		series: []seriesSpec{seedersSeries, leechersSeries},
	}, samples, from, to)
}

// newLineChart maps samples (oldest first) into spec's plot area: time
// [from, to] left to right, values 0 … the largest of any series bottom to
// top. A sample outside [from, to] is drawn at the nearer edge.
func newLineChart(spec chartSpec, samples []store.SwarmSample, from, to time.Time) lineChart {
	c := lineChart{
		Width: spec.width, Height: spec.height, Label: spec.label, Axes: spec.axes,
		Left: spec.left, Top: spec.top,
		Right: float64(spec.width) - spec.right, Bottom: float64(spec.height) - spec.bottom,
	}
	maxY := 1
	for _, sm := range samples {
		for _, sp := range spec.series {
			maxY = max(maxY, sp.value(sm))
		}
	}
	span := to.Sub(from)
	x := func(t time.Time) float64 {
		if span <= 0 {
			return (c.Left + c.Right) / 2
		}
		f := float64(t.Sub(from)) / float64(span)
		return c.Left + min(max(f, 0), 1)*(c.Right-c.Left)
	}
	y := func(v int) float64 { return c.Bottom - float64(v)/float64(maxY)*(c.Bottom-c.Top) }

	for _, sp := range spec.series {
		var b strings.Builder
		for i, sm := range samples {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s,%s", coord(x(sm.At)), coord(y(sp.value(sm))))
		}
		c.Series = append(c.Series, chartSeries{Class: sp.class, Points: b.String()})
	}
	if spec.axes {
		c.YLabels = []chartLabel{
			{X: c.Left - 6, Y: c.Bottom + 4, Text: "0", Anchor: "end"},
			{X: c.Left - 6, Y: c.Top + 4, Text: strconv.Itoa(maxY), Anchor: "end"},
		}
		c.XLabels = []chartLabel{
			{X: c.Left, Y: c.Bottom + 18, Text: formatChartTime(from), Anchor: "start"},
			{X: c.Right, Y: c.Bottom + 18, Text: formatChartTime(to), Anchor: "end"},
		}
	}
	return c
}

// coord formats an SVG coordinate with one decimal, which is finer than a
// pixel and keeps long series small.
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func formatChartTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

//! SVG figures drawn with plotters' SVG backend (no system fonts, no C libraries): charts of
//! lines and points on linear or log axes, decision regions of 2-D classifiers, cost
//! surfaces with paths over them, and grids of values.
//!
//! Charts are [`SIZE`], decision regions [`REGION_SIZE`] (equal scales on both axes); each
//! is meant to be shown at its own size, and no text in it is smaller than
//! [`MIN_FONT_PX`]. Axis ticks are chosen here so that they cover the data (on a log
//! axis, decades, or 1–2–5 steps when the data span three decades or fewer). Backgrounds
//! that would take thousands of shapes — decision regions, cost surfaces and their
//! contour lines, data points over regions, grid cells — are one raster at twice the
//! figure's resolution, embedded in the SVG as a PNG ([`raster`]).

pub mod raster;

use std::path::Path;

use nalgebra::DMatrix;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{ExampleError, Result};
use raster::{Raster, blend};

/// Width and height of the charts, in SVG units (CSS pixels at 100%).
pub const SIZE: (u32, u32) = (800, 500);

/// Width and height of the decision-region figures, whose two axes have the same scale.
pub const REGION_SIZE: (u32, u32) = (640, 580);

/// The smallest font size in any figure, in SVG units.
pub const MIN_FONT_PX: f64 = 14.0;

/// Raster pixels per SVG unit, in each direction: 2 for sharp edges on high-density
/// screens; 1 in debug builds, where the per-pixel work would make the tests that draw
/// every figure several times slower.
const OVERSAMPLE: u32 = if cfg!(debug_assertions) { 1 } else { 2 };

/// A font of at least `px` SVG units (plotters rounds the size it is given down to whole
/// points and divides by 1.24 when it writes an SVG, so this multiplies by 1.24 and rounds
/// up).
fn font(px: f64) -> (&'static str, f64) {
    ("sans-serif", (px.max(MIN_FONT_PX) * 1.24).ceil())
}

const TITLE_PX: f64 = 19.0;
const AXIS_PX: f64 = 16.0;
const TICK_PX: f64 = 14.0;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mark {
    /// A solid line through the points.
    #[default]
    Line,
    /// A dashed line through the points (reference lines, tolerances).
    Dashed,
    /// A dot at every point, no line.
    Points,
}

/// A named series of `(x, y)` points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// How it is drawn.
    pub mark: Mark,
    /// Index into the palette; `None` takes the series' position.
    pub colour: Option<usize>,
}

impl Series {
    /// A solid line from a label and points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            mark: Mark::Line,
            colour: None,
        }
    }

    /// A dashed line.
    pub fn dashed(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            mark: Mark::Dashed,
            ..Self::new(name, points)
        }
    }

    /// Dots without a line.
    pub fn points(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            mark: Mark::Points,
            ..Self::new(name, points)
        }
    }

    /// The same series in palette colour `i`.
    pub fn colour(self, i: usize) -> Self {
        Self {
            colour: Some(i),
            ..self
        }
    }
}

/// Axis labels and title of a chart.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// Chart title.
    pub title: &'a str,
    /// Horizontal axis.
    pub x: &'a str,
    /// Vertical axis.
    pub y: &'a str,
}

fn fig_err(path: &Path, e: impl std::fmt::Display) -> ExampleError {
    ExampleError::Figure {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Colour `i` of the palette (matplotlib's, which stays distinguishable for most kinds of
/// colour blindness in its first four).
pub fn colour(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    PALETTE[i % PALETTE.len()]
}

fn rgb(c: RGBColor) -> [u8; 3] {
    [c.0, c.1, c.2]
}

const WHITE_RGB: [u8; 3] = [255, 255, 255];

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * hi.abs().max(1.0) {
        (lo - 0.5 * lo.abs().max(1.0), hi + 0.5 * hi.abs().max(1.0))
    } else {
        (lo, hi)
    }
}

/// An axis: its range, the values that get a tick and a label, and whether it is
/// logarithmic. It is the plotters coordinate of the charts here, so that the ticks are
/// exactly these.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// `(from, to)`.
    pub range: (f64, f64),
    /// Tick values, ascending, all inside `range`.
    pub ticks: Vec<f64>,
    /// Logarithmic (then `range` is positive).
    pub log: bool,
}

impl Axis {
    /// Exactly `[lo, hi]`, with the ticks of [`linear_axis`] that fall inside it.
    pub fn exactly(lo: f64, hi: f64) -> Self {
        let ticks = linear_axis(lo, hi, 11)
            .ticks
            .into_iter()
            .filter(|t| (lo - 1e-9 * (hi - lo).abs()..=hi + 1e-9 * (hi - lo).abs()).contains(t))
            .collect();
        Self {
            range: (lo, hi),
            ticks,
            log: false,
        }
    }

    fn position(&self, v: f64) -> f64 {
        if self.log {
            v.max(f64::MIN_POSITIVE).log10()
        } else {
            v
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, (start, end): (i32, i32)) -> i32 {
        let (a, b) = (self.position(self.range.0), self.position(self.range.1));
        let t = (self.position(*v) - a) / (b - a);
        let t = if t.is_finite() {
            t.clamp(-10.0, 10.0)
        } else {
            0.0
        };
        start + (f64::from(end - start) * t + 1e-3).floor() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // bold points only: no light grid lines between the ticks
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.0..self.range.1
    }
}

/// A linear axis over `[lo, hi]` with 4 to `max_ticks` ticks at 1–2–5 steps, its range
/// widened to the ticks just outside the data so that the ticks cover it; of the steps
/// that fit, the one that widens the range least.
pub fn linear_axis(lo: f64, hi: f64, max_ticks: usize) -> Axis {
    let (lo, hi) = bounds([lo, hi].into_iter());
    let magnitude = 10f64.powf(((hi - lo) / max_ticks.max(4) as f64).log10().floor());
    let candidates = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0].map(|m| m * magnitude);
    let span = |step: f64| {
        let first = (lo / step + 1e-9).floor() as i64;
        let last = (hi / step - 1e-9).ceil() as i64;
        (first, last)
    };
    let step = candidates
        .iter()
        .copied()
        .filter(|&step| {
            let (first, last) = span(step);
            (4..=max_ticks.max(4) as i64).contains(&(last - first + 1))
        })
        .min_by(|&a, &b| {
            let width = |step: f64| {
                let (first, last) = span(step);
                (last - first) as f64 * step
            };
            width(a).total_cmp(&width(b))
        })
        .unwrap_or(candidates[3]);
    let (first, last) = span(step);
    Axis {
        range: (first as f64 * step, last as f64 * step),
        ticks: (first..=last).map(|k| k as f64 * step).collect(),
        log: false,
    }
}

/// A log axis over `[lo, hi]` (both > 0). Up to three decades: ticks at 1, 2 and 5 times
/// the powers of ten, the range from the last of them at or below `lo` to the first at or
/// above `hi`. More: ticks at whole decades (every k-th, at most 11 of them), the range
/// from the decade at or below `lo` to the one at or above `hi`.
pub fn log_axis(lo: f64, hi: f64) -> Axis {
    let (lo, hi) = (lo.max(f64::MIN_POSITIVE), hi.max(lo * (1.0 + 1e-9)));
    let (a, b) = (
        (lo.log10() + 1e-9).floor() as i32,
        (hi.log10() - 1e-9).ceil() as i32,
    );
    let decades = (b - a).max(1);
    if decades <= 3 {
        let steps: Vec<f64> = (a..b)
            .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
            .chain(std::iter::once(10f64.powi(b)))
            .collect();
        let start = steps
            .iter()
            .rev()
            .find(|&&v| v <= lo * (1.0 + 1e-9))
            .copied()
            .unwrap_or(10f64.powi(a));
        let end = steps
            .iter()
            .find(|&&v| v >= hi * (1.0 - 1e-9))
            .copied()
            .unwrap_or(10f64.powi(b));
        let ticks: Vec<f64> = steps
            .into_iter()
            .filter(|&v| v >= start * (1.0 - 1e-9) && v <= end * (1.0 + 1e-9))
            .collect();
        Axis {
            range: (start, end),
            ticks,
            log: true,
        }
    } else {
        // every k-th decade, on multiples of k (1e-20, 1e-15, …, 1, 1e5)
        let every = (decades + 9) / 10;
        let (a, b) = (
            a.div_euclid(every) * every,
            (b + every - 1).div_euclid(every) * every,
        );
        Axis {
            range: (10f64.powi(a), 10f64.powi(b)),
            ticks: (0..=(b - a) / every)
                .map(|k| 10f64.powi(a + k * every))
                .collect(),
            log: true,
        }
    }
}

/// A tick label: plain for moderate magnitudes, `1e-14` style otherwise.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    if a < 1e-300 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else if a >= 10.0 || (v - v.round()).abs() < 1e-9 * a.max(1.0) {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A raster that goes under everything else in the figure, at `origin` (SVG units), shown
/// at `size` (SVG units).
struct Backdrop {
    raster: Raster,
    origin: (i32, i32),
    size: (u32, u32),
}

/// The plotting area of a chart as `(origin, size)` in SVG units.
fn plot_area<X: Ranged, Y: Ranged>(
    chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
) -> ((i32, i32), (u32, u32)) {
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    (
        (xs.start, ys.start),
        (
            u32::try_from(xs.end - xs.start).unwrap_or(1).max(1),
            u32::try_from(ys.end - ys.start).unwrap_or(1).max(1),
        ),
    )
}

/// Maps raster pixels of a plotting area to data coordinates and back.
#[derive(Debug, Clone, Copy)]
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
    pixels: (u32, u32),
}

impl Frame {
    fn new(((x0, x1), (y0, y1)): ((f64, f64), (f64, f64)), size: (u32, u32)) -> Self {
        Self {
            x: (x0, x1),
            y: (y0, y1),
            pixels: (OVERSAMPLE * size.0, OVERSAMPLE * size.1),
        }
    }

    /// The data point at the centre of raster pixel `(column, row)`.
    fn point(&self, column: u32, row: u32) -> (f64, f64) {
        let u = (f64::from(column) + 0.5) / f64::from(self.pixels.0);
        let v = (f64::from(row) + 0.5) / f64::from(self.pixels.1);
        (
            self.x.0 + u * (self.x.1 - self.x.0),
            self.y.1 - v * (self.y.1 - self.y.0),
        )
    }

    /// The raster position (pixels, fractional) of a data point.
    fn pixel(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            (x - self.x.0) / (self.x.1 - self.x.0) * f64::from(self.pixels.0),
            (self.y.1 - y) / (self.y.1 - self.y.0) * f64::from(self.pixels.1),
        )
    }
}

/// Draws a figure into `path`: `draw` gets the white root area and may return a raster to
/// put under everything it drew.
fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Root<'_>) -> Result<Option<Backdrop>>,
) -> Result<()> {
    let mut svg = String::new();
    let backdrop = {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fig_err(path, e))?;
        let backdrop = draw(&root)?;
        root.present().map_err(|e| fig_err(path, e))?;
        backdrop
    };
    if let Some(b) = backdrop {
        let image = b
            .raster
            .svg_image(b.origin, b.size)
            .map_err(|e| fig_err(path, e))?;
        svg = raster::insert_after_background(&svg, &image)
            .ok_or_else(|| fig_err(path, "plotters wrote no background to draw over"))?;
    }
    std::fs::write(path, svg).map_err(|e| ExampleError::io(path, e))
}

/// A tick label of a value (for plotters' formatters, which take references).
fn tick_label(v: &f64) -> String {
    tick(*v)
}

/// Draws the axes of a chart: their descriptions, tick labels (see [`tick`]), and grid
/// lines at the ticks if `grid`.
fn draw_axes(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<Axis, Axis>>,
    (x, y): (&str, &str),
    grid: bool,
    path: &Path,
) -> Result<()> {
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x)
        .y_desc(y)
        .label_style(font(TICK_PX))
        .axis_desc_style(font(AXIS_PX))
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label)
        .bold_line_style(BLACK.mix(0.12));
    if !grid {
        mesh.disable_mesh();
    }
    mesh.draw().map_err(|e| fig_err(path, e))
}

/// Where a chart's legend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Legend {
    /// Top right (the default).
    #[default]
    UpperRight,
    /// Top left.
    UpperLeft,
    /// Bottom left.
    LowerLeft,
    /// Bottom right.
    LowerRight,
    /// Middle of the right edge.
    MiddleRight,
    /// Middle of the left edge.
    MiddleLeft,
}

impl Legend {
    fn position(self) -> SeriesLabelPosition {
        match self {
            Legend::UpperRight => SeriesLabelPosition::UpperRight,
            Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
            Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
            Legend::LowerRight => SeriesLabelPosition::LowerRight,
            Legend::MiddleRight => SeriesLabelPosition::MiddleRight,
            Legend::MiddleLeft => SeriesLabelPosition::MiddleLeft,
        }
    }
}

/// Options of [`chart`]. The default is linear axes, legend top right.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChartOptions {
    /// Logarithmic horizontal axis (points with x ≤ 0 are left out).
    pub log_x: bool,
    /// Logarithmic vertical axis (points with y ≤ 0 are left out).
    pub log_y: bool,
    /// Legend position.
    pub legend: Legend,
}

fn configure_legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    legend: Legend,
    path: &Path,
) -> Result<()> {
    chart
        .configure_series_labels()
        .label_font(font(TICK_PX))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .position(legend.position())
        .margin(10)
        .draw()
        .map_err(|e| fig_err(path, e))
}

/// A chart of lines, dashed lines and dots (see [`Mark`]) with a choice of log axes and
/// legend position; ticks cover the data ([`linear_axis`], [`log_axis`]) and label on log
/// axes read `1e-14`, `1e6`.
///
/// # Errors
/// [`ExampleError::Figure`] if the file cannot be drawn or written.
pub fn chart(
    path: &Path,
    labels: Labels<'_>,
    series: &[Series],
    options: &ChartOptions,
) -> Result<()> {
    let keep = |&(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && (!options.log_x || x > 0.0) && (!options.log_y || y > 0.0)
    };
    let kept = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().filter(|p| keep(p)))
    };
    let (x0, x1) = bounds(kept().map(|p| p.0));
    let (y0, y1) = bounds(kept().map(|p| p.1));
    let x_axis = if options.log_x {
        log_axis(x0, x1)
    } else {
        linear_axis(x0, x1, 11)
    };
    let y_axis = if options.log_y {
        // a little headroom, so that a line at a round value (a tolerance) is not drawn on
        // the frame
        let room = ((y1 / y0).log10() * 0.01).max(0.004);
        log_axis(y0 / 10f64.powf(room), y1 * 10f64.powf(room))
    } else {
        linear_axis(y0, y1, 11)
    };
    render(path, SIZE, |root| {
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(labels.title, font(TITLE_PX))
            .margin(16)
            // room for the last tick label, centred on the right edge
            .margin_right(34)
            .x_label_area_size(52)
            .y_label_area_size(82);
        let e = |e| fig_err(path, e);
        let mut chart = builder.build_cartesian_2d(x_axis, y_axis).map_err(e)?;
        draw_axes(&mut chart, (labels.x, labels.y), true, path)?;
        for (i, s) in series.iter().enumerate() {
            let c = colour(s.colour.unwrap_or(i));
            let points = s.points.iter().copied().filter(keep);
            let drawn = match s.mark {
                Mark::Line => chart
                    .draw_series(LineSeries::new(points, c.stroke_width(2)))
                    .map_err(e)?,
                Mark::Dashed => chart
                    .draw_series(DashedLineSeries::new(points, 8, 5, c.stroke_width(2)))
                    .map_err(e)?,
                Mark::Points => chart
                    .draw_series(points.map(|p| Circle::new(p, 3, c.mix(0.7).filled())))
                    .map_err(e)?,
            };
            let mark = s.mark;
            drawn.label(s.name.as_str()).legend(move |(x, y)| {
                // a line, three dashes, or a dot
                let dashes = match mark {
                    Mark::Line => [(0, 8), (8, 16), (16, 24)],
                    Mark::Dashed => [(0, 6), (9, 15), (18, 24)],
                    Mark::Points => [(0, 0); 3],
                };
                let style = c.stroke_width(3);
                let dash = |(a, b): (i32, i32)| PathElement::new(vec![(a, 0), (b, 0)], style);
                let dot = if mark == Mark::Points {
                    c.filled()
                } else {
                    c.mix(0.0).filled()
                };
                EmptyElement::at((x, y))
                    + Circle::new((12, 0), 4, dot)
                    + dash(dashes[0])
                    + dash(dashes[1])
                    + dash(dashes[2])
            });
        }
        configure_legend(&mut chart, options.legend, path)?;
        Ok(None)
    })
}

/// Labelled 2-D points for [`decision_regions`].
#[derive(Debug, Clone, Copy)]
pub struct Point2 {
    /// Horizontal coordinate.
    pub x: f64,
    /// Vertical coordinate.
    pub y: f64,
    /// Class (0, 1, …).
    pub class: usize,
}

/// A classifier of 2-D points for [`decision_regions`]: given a `(2, n)` matrix of points
/// (one per column), the class of each.
pub type Classify<'a> = &'a dyn Fn(&DMatrix<f64>) -> Result<Vec<usize>>;

/// The decision regions of a 2-D classifier over `[x0, x1] × [y0, y1]` (each pixel tinted
/// by the class `classify` gives it), the data points on top (class colour, dark rim),
/// and optional straight lines `a·x + b·y + c = 0`.
///
/// # Errors
/// [`ExampleError::Figure`] if the file cannot be drawn or written; what `classify`
/// returns as an error.
pub fn decision_regions(
    path: &Path,
    title: &str,
    range: ((f64, f64), (f64, f64)),
    classify: Classify<'_>,
    points: &[Point2],
    lines: &[(f64, f64, f64)],
) -> Result<()> {
    const MARGIN: u32 = 16;
    const X_LABELS: u32 = 52;
    const Y_LABELS: u32 = 70;
    render(path, REGION_SIZE, |root| {
        let e = |e| fig_err(path, e);
        let area = root.titled(title, font(TITLE_PX)).map_err(e)?;
        // widen one axis' range so that a unit is as long across as up
        let (w, h) = area.dim_in_pixel();
        let (w, h) = (
            f64::from(w.saturating_sub(2 * MARGIN + Y_LABELS).max(1)),
            f64::from(h.saturating_sub(2 * MARGIN + X_LABELS).max(1)),
        );
        let ((x0, x1), (y0, y1)) = range;
        let per_pixel = ((x1 - x0) / w).max((y1 - y0) / h);
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let range = (
            (cx - per_pixel * w / 2.0, cx + per_pixel * w / 2.0),
            (cy - per_pixel * h / 2.0, cy + per_pixel * h / 2.0),
        );
        let ((x0, x1), (y0, y1)) = range;
        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
            .x_label_area_size(X_LABELS)
            .y_label_area_size(Y_LABELS)
            .build_cartesian_2d(Axis::exactly(x0, x1), Axis::exactly(y0, y1))
            .map_err(e)?;
        draw_axes(&mut chart, ("x₁", "x₂"), false, path)?;
        for &(a, b, c) in lines {
            let seg: Vec<(f64, f64)> = if b.abs() > a.abs() {
                vec![(x0, -(a * x0 + c) / b), (x1, -(a * x1 + c) / b)]
            } else {
                vec![(-(b * y0 + c) / a, y0), (-(b * y1 + c) / a, y1)]
            };
            chart
                .draw_series(std::iter::once(PathElement::new(
                    seg,
                    BLACK.stroke_width(2),
                )))
                .map_err(e)?;
        }
        let (origin, size) = plot_area(&chart);
        let frame = Frame::new(range, size);
        let classes = region_classes(&frame, classify).map_err(|e| match e {
            ExampleError::Usage(m) => fig_err(path, m),
            other => other,
        })?;
        let (w, h) = frame.pixels;
        let tints: Vec<[u8; 3]> = (0..=classes.iter().copied().max().unwrap_or(0))
            .map(|k| blend(WHITE_RGB, rgb(colour(k)), 0.22))
            .collect();
        let mut raster = Raster::from_fn(w, h, |c, r| tints[classes[(r * w + c) as usize]]);
        for p in points {
            let c = rgb(colour(p.class));
            let rim = blend(c, [0, 0, 0], 0.55);
            raster.disc(frame.pixel((p.x, p.y)), 3.2 * f64::from(OVERSAMPLE), c, rim);
        }
        Ok(Some(Backdrop {
            raster,
            origin,
            size,
        }))
    })
}

/// The class of every raster pixel of `frame`. The classifier runs on one sample per
/// block of `OVERSAMPLE × OVERSAMPLE` pixels, and again only on the pixels whose block or
/// a neighbouring block has another class: the boundary stays sharp at the full
/// resolution for a fraction of the evaluations.
fn region_classes(frame: &Frame, classify: Classify<'_>) -> Result<Vec<usize>> {
    let (w, h) = frame.pixels;
    let (cw, ch) = (w.div_ceil(OVERSAMPLE), h.div_ceil(OVERSAMPLE));
    let run = |pixels: &[(u32, u32)]| -> Result<Vec<usize>> {
        let grid = DMatrix::from_fn(2, pixels.len(), |i, k| {
            let p = frame.point(pixels[k].0, pixels[k].1);
            if i == 0 { p.0 } else { p.1 }
        });
        let got = classify(&grid)?;
        if got.len() == pixels.len() {
            Ok(got)
        } else {
            Err(ExampleError::Usage(
                "the classifier returned the wrong number of classes".into(),
            ))
        }
    };
    // the pixel nearest each block's centre stands for the block
    let centre = |b: u32, n: u32| (b * OVERSAMPLE + OVERSAMPLE / 2).min(n - 1);
    let blocks: Vec<(u32, u32)> = (0..ch)
        .flat_map(|r| (0..cw).map(move |c| (centre(c, w), centre(r, h))))
        .collect();
    let coarse = run(&blocks)?;
    let block = |c: i64, r: i64| -> usize {
        let (c, r) = (c.clamp(0, i64::from(cw) - 1), r.clamp(0, i64::from(ch) - 1));
        coarse[(r * i64::from(cw) + c) as usize]
    };
    let mut classes = Vec::with_capacity((w * h) as usize);
    let mut unsure = Vec::new();
    for r in 0..h {
        for c in 0..w {
            let (bc, br) = (i64::from(c / OVERSAMPLE), i64::from(r / OVERSAMPLE));
            let own = block(bc, br);
            let uniform = (-1..=1).all(|dr| (-1..=1).all(|dc| block(bc + dc, br + dr) == own));
            if !uniform {
                unsure.push((c, r));
            }
            classes.push(own);
        }
    }
    for ((c, r), class) in unsure.iter().zip(run(&unsure)?) {
        classes[(r * w + c) as usize] = class;
    }
    Ok(classes)
}

/// A 2-D cost surface with paths drawn over it (e.g. the iterates of gradient descent).
#[derive(Clone, Copy)]
pub struct Surface<'a> {
    /// The plotted rectangle `((x0, x1), (y0, y1))`.
    pub range: ((f64, f64), (f64, f64)),
    /// The cost at a point.
    pub f: &'a dyn Fn(f64, f64) -> f64,
    /// Number of level bands (e.g. 14).
    pub levels: usize,
}

impl std::fmt::Debug for Surface<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Surface")
            .field("range", &self.range)
            .field("levels", &self.levels)
            .finish_non_exhaustive()
    }
}

/// Level bands of a cost surface (spaced evenly in `ln(f − min)`, so that they crowd
/// neither the minimum nor the rim), light at low cost, with smooth grey contour lines
/// between them; the `paths` on top as lines with a dot at every iterate, and `marks`
/// (e.g. the analytic minimum) as labelled black crosses.
///
/// # Errors
/// [`ExampleError::Figure`] if the file cannot be drawn or written.
pub fn contour_paths(
    path: &Path,
    labels: Labels<'_>,
    surface: Surface<'_>,
    paths: &[Series],
    marks: &[(&str, (f64, f64))],
) -> Result<()> {
    let ((x0, x1), (y0, y1)) = surface.range;
    let levels = surface.levels.max(2);
    render(path, SIZE, |root| {
        let e = |e| fig_err(path, e);
        let mut chart = ChartBuilder::on(root)
            .caption(labels.title, font(TITLE_PX))
            .margin(16)
            .x_label_area_size(52)
            .y_label_area_size(76)
            .build_cartesian_2d(Axis::exactly(x0, x1), Axis::exactly(y0, y1))
            .map_err(e)?;
        draw_axes(&mut chart, (labels.x, labels.y), false, path)?;
        for (k, s) in paths.iter().enumerate() {
            let c = colour(s.colour.unwrap_or(k + 1));
            let inside = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite();
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied().filter(inside),
                    c.stroke_width(2),
                ))
                .map_err(e)?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(3))
                });
            chart
                .draw_series(
                    s.points
                        .iter()
                        .copied()
                        .filter(inside)
                        .map(|p| Circle::new(p, 3, c.filled())),
                )
                .map_err(e)?;
        }
        let label_style = font(15.0)
            .into_font()
            .into_text_style(root)
            .pos(Pos::new(HPos::Left, VPos::Bottom));
        for &(label, p) in marks {
            chart
                .draw_series(std::iter::once(Cross::new(p, 7, BLACK.stroke_width(3))))
                .map_err(e)?;
            // the label goes to the right of the mark, or to its left near the right edge
            let width = 0.011 * (x1 - x0) * label.chars().count() as f64;
            let lx = if p.0 + width > x1 - 0.03 * (x1 - x0) {
                p.0 - width - 0.02 * (x1 - x0)
            } else {
                p.0 + 0.02 * (x1 - x0)
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    label.to_string(),
                    (lx, p.1 + 0.02 * (y1 - y0)),
                    label_style.clone(),
                )))
                .map_err(e)?;
        }
        if !paths.is_empty() {
            configure_legend(&mut chart, Legend::UpperRight, path)?;
        }
        let (origin, size) = plot_area(&chart);
        let frame = Frame::new(surface.range, size);
        Ok(Some(Backdrop {
            raster: level_bands(&frame, surface.f, levels),
            origin,
            size,
        }))
    })
}

/// The shaded bands and anti-aliased contour lines of `f` over a frame.
fn level_bands(frame: &Frame, f: &dyn Fn(f64, f64) -> f64, levels: usize) -> Raster {
    let (w, h) = frame.pixels;
    // f is smooth: sample it once per block of OVERSAMPLE² pixels (at the block corners)
    // and interpolate bilinearly in between
    let (cw, ch) = (w / OVERSAMPLE + 2, h / OVERSAMPLE + 2);
    let corner = |k: u32, n: u32| f64::from(k * OVERSAMPLE) / f64::from(n);
    let samples: Vec<f64> = (0..ch)
        .flat_map(|r| (0..cw).map(move |c| (c, r)))
        .map(|(c, r)| {
            let (u, v) = (corner(c, w), corner(r, h));
            f(
                frame.x.0 + u * (frame.x.1 - frame.x.0),
                frame.y.1 - v * (frame.y.1 - frame.y.0),
            )
        })
        .collect();
    let values: Vec<f64> = (0..h)
        .flat_map(|r| (0..w).map(move |c| (c, r)))
        .map(|(c, r)| {
            let (x, y) = (
                (f64::from(c) + 0.5) / f64::from(OVERSAMPLE),
                (f64::from(r) + 0.5) / f64::from(OVERSAMPLE),
            );
            let (c0, r0) = (x.floor() as u32, y.floor() as u32);
            let (tx, ty) = (x - f64::from(c0), y - f64::from(r0));
            let at = |c: u32, r: u32| samples[(r.min(ch - 1) * cw + c.min(cw - 1)) as usize];
            let top = at(c0, r0) * (1.0 - tx) + at(c0 + 1, r0) * tx;
            let bottom = at(c0, r0 + 1) * (1.0 - tx) + at(c0 + 1, r0 + 1) * tx;
            top * (1.0 - ty) + bottom * ty
        })
        .collect();
    let (lo, hi) = bounds(values.iter().copied());
    let scale = |v: f64| (v - lo + 1e-3 * (hi - lo)).ln();
    let (s0, s1) = (scale(lo), scale(hi));
    // the level coordinate: band k is [k, k + 1)
    let t: Vec<f64> = values
        .iter()
        .map(|&v| {
            if v.is_finite() {
                (scale(v) - s0) / (s1 - s0).max(1e-300) * levels as f64
            } else {
                levels as f64
            }
        })
        .collect();
    let at = |c: u32, r: u32| t[(r.min(h - 1) * w + c.min(w - 1)) as usize];
    let shade = |band: usize| {
        // light (low cost) to a darker blue (high cost)
        let s = band as f64 / (levels - 1) as f64;
        [
            (252.0 - 100.0 * s) as u8,
            (252.0 - 70.0 * s) as u8,
            (255.0 - 25.0 * s) as u8,
        ]
    };
    let line = [105, 105, 125];
    let half_width = 0.6 * f64::from(OVERSAMPLE);
    Raster::from_fn(w, h, |c, r| {
        let v = at(c, r);
        let band = (v.max(0.0) as usize).min(levels - 1);
        // distance to the nearest level boundary, in pixels, from the local gradient
        let (gx, gy) = (
            (at(c + 1, r) - at(c.saturating_sub(1), r)) / 2.0,
            (at(c, r + 1) - at(c, r.saturating_sub(1))) / 2.0,
        );
        let gradient = gx.hypot(gy).max(1e-12);
        let nearest = v.round().clamp(1.0, (levels - 1) as f64);
        let distance = (v - nearest).abs() / gradient;
        let ink = raster::steps((half_width + 0.5 - distance).clamp(0.0, 1.0));
        blend(shade(band), line, 0.85 * ink)
    })
}

/// A confusion matrix `counts[actual][predicted]` as a grid of shaded cells: actual
/// classes down the side (the first at the top), predicted classes along the bottom, each
/// count centred in its cell (zeros left blank). The diagonal (correct) is shaded blue,
/// off-diagonal cells (mistakes) red.
///
/// # Errors
/// [`ExampleError::Figure`] if the file cannot be drawn or written.
pub fn confusion_matrix(
    path: &Path,
    labels: Labels<'_>,
    class_names: &[String],
    counts: &[Vec<usize>],
) -> Result<()> {
    let max = counts.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let values: Vec<Vec<f64>> = counts
        .iter()
        .map(|row| row.iter().map(|&c| c as f64).collect())
        .collect();
    let shade = |r: usize, c: usize, v: f64| {
        let t = v / max;
        if r == c {
            [(255.0 - 200.0 * t) as u8, (255.0 - 150.0 * t) as u8, 255]
        } else if v > 0.0 {
            let s = (225.0 - 150.0 * t.sqrt()) as u8;
            [255, s, s]
        } else {
            [248, 248, 248]
        }
    };
    grid(
        path,
        labels,
        (class_names, class_names),
        &values,
        &shade,
        true,
    )
}

/// A grid of values `values[row][col]` (e.g. an accuracy per position), row 0 at the top,
/// each value rounded to an integer and centred in its cell, cells shaded from white
/// (`low`) to blue (`high`); rows and columns are numbered from 0 under their centres.
///
/// # Errors
/// [`ExampleError::Figure`] if the file cannot be drawn or written.
pub fn value_grid(
    path: &Path,
    labels: Labels<'_>,
    values: &[Vec<f64>],
    (low, high): (f64, f64),
) -> Result<()> {
    let rows: Vec<String> = (0..values.len()).map(|i| i.to_string()).collect();
    let cols = values.iter().map(Vec::len).max().unwrap_or(0);
    let cols: Vec<String> = (0..cols).map(|i| i.to_string()).collect();
    let shade = |_: usize, _: usize, v: f64| {
        let t = ((v - low) / (high - low).max(1e-300)).clamp(0.0, 1.0);
        [(255.0 - 200.0 * t) as u8, (255.0 - 150.0 * t) as u8, 255]
    };
    grid(path, labels, (&rows, &cols), values, &shade, false)
}

/// Cells shaded by `shade(row, col, value)` (one raster, white seams between cells), the
/// values centred in them (dark on light cells, white on dark ones), row 0 at the top,
/// each tick label under its cell's centre.
fn grid(
    path: &Path,
    labels: Labels<'_>,
    (row_names, col_names): (&[String], &[String]),
    values: &[Vec<f64>],
    shade: &dyn Fn(usize, usize, f64) -> [u8; 3],
    skip_zeros: bool,
) -> Result<()> {
    let (rows, cols) = (row_names.len().max(1), col_names.len().max(1));
    let name = |names: &[String], i: f64| -> String {
        names
            .get(i.floor().max(0.0) as usize)
            .cloned()
            .unwrap_or_default()
    };
    let centres = |n: usize| Axis {
        range: (0.0, n as f64),
        ticks: (0..n).map(|i| i as f64 + 0.5).collect(),
        log: false,
    };
    let value = |r: usize, c: usize| values.get(r).and_then(|row| row.get(c)).copied();
    render(path, SIZE, |root| {
        let e = |e| fig_err(path, e);
        let mut chart = ChartBuilder::on(root)
            .caption(labels.title, font(TITLE_PX))
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(64)
            .build_cartesian_2d(centres(cols), centres(rows))
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(labels.x)
            .y_desc(labels.y)
            .label_style(font(TICK_PX))
            .axis_desc_style(font(AXIS_PX))
            .x_label_formatter(&|v| name(col_names, *v))
            // row 0 at the top, as a matrix is read
            .y_label_formatter(&|v| name(row_names, rows as f64 - *v))
            .draw()
            .map_err(e)?;
        let centred = font(15.0)
            .into_font()
            .into_text_style(root)
            .pos(Pos::new(HPos::Center, VPos::Center));
        let (on_light, on_dark) = (centred.color(&BLACK), centred.color(&WHITE));
        for r in 0..rows {
            for c in 0..cols {
                let Some(v) = value(r, c) else { continue };
                if skip_zeros && v == 0.0 {
                    continue;
                }
                let [cr, cg, cb] = shade(r, c, v);
                let dark =
                    0.299 * f64::from(cr) + 0.587 * f64::from(cg) + 0.114 * f64::from(cb) < 140.0;
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!("{v:.0}"),
                        (c as f64 + 0.5, (rows - 1 - r) as f64 + 0.5),
                        if dark {
                            on_dark.clone()
                        } else {
                            on_light.clone()
                        },
                    )))
                    .map_err(e)?;
            }
        }
        let (origin, size) = plot_area(&chart);
        let (w, h) = (OVERSAMPLE * size.0, OVERSAMPLE * size.1);
        // the cell of a pixel along one axis, and whether it is on the seam between cells
        // (one SVG unit wide)
        let cell = |p: u32, pixels: u32, cells: usize| -> (usize, bool) {
            let t = (f64::from(p) + 0.5) / f64::from(pixels) * cells as f64;
            let from_edge = (t - t.round()).abs() * f64::from(pixels) / cells as f64;
            (
                (t as usize).min(cells - 1),
                from_edge < f64::from(OVERSAMPLE) / 2.0,
            )
        };
        let raster = Raster::from_fn(w, h, |px, py| {
            let ((c, seam_x), (r, seam_y)) = (cell(px, w, cols), cell(py, h, rows));
            match value(r, c) {
                Some(v) if !(seam_x || seam_y) => shade(r, c, v),
                _ => WHITE_RGB,
            }
        });
        Ok(Some(Backdrop {
            raster,
            origin,
            size,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_cover_the_data_in_round_steps() {
        // [−5, 5] gets eleven unit ticks, not [−6, 6] in steps of 2
        let a = linear_axis(-5.0, 5.0, 11);
        assert_eq!(a.range, (-5.0, 5.0));
        assert_eq!(a.ticks.len(), 11);
        // 1500 steps: 0, 500, 1000, 1500 rather than up to 1600 in steps of 200
        assert_eq!(
            linear_axis(0.0, 1499.0, 11).ticks,
            vec![0.0, 500.0, 1000.0, 1500.0]
        );
        let b = linear_axis(0.13, 9.7, 11);
        assert!(
            b.ticks.first() <= Some(&0.13) && b.ticks.last() >= Some(&9.7),
            "{b:?}"
        );
        assert!((4..=11).contains(&b.ticks.len()), "{b:?}");
    }

    #[test]
    fn log_ticks_cover_the_data_down_to_its_smallest_value() {
        // the T14 case: cost curves from 0.7 down to 0.03
        let a = log_axis(0.03, 0.7);
        assert_eq!(a.range, (0.02, 1.0));
        assert_eq!(a.ticks, vec![0.02, 0.05, 0.1, 0.2, 0.5, 1.0]);
        // many decades: whole decades, at most 11 labels, covering both ends
        let b = log_axis(3e-20, 6e20);
        assert!(b.range.0 <= 3e-20 && b.range.1 >= 6e20, "{b:?}");
        assert!(b.ticks.len() <= 11, "{b:?}");
        let c = log_axis(1e-17, 0.5);
        assert!(
            c.ticks.first() <= Some(&1e-17) && c.ticks.last() >= Some(&0.5),
            "{c:?}"
        );
        // data on whole decades get exactly those decades
        assert_eq!(log_axis(1.0, 1e4).range, (1.0, 1e4));
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(1e-14), "1e-14");
        assert_eq!(tick(2e6), "2e6");
        assert_eq!(tick(0.05), "0.05");
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(1500.0), "1500");
    }

    #[test]
    fn fonts_are_written_at_the_size_asked_for() {
        let dir = std::env::temp_dir().join(format!("nn-plot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fonts.svg");
        chart(
            &path,
            Labels {
                title: "t",
                x: "x",
                y: "y",
            },
            &[Series::new("s", vec![(1.0, 1.0), (2.0, 4.0)])],
            &ChartOptions::default(),
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let sizes: Vec<f64> = svg
            .split("font-size=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .collect();
        assert!(!sizes.is_empty());
        assert!(sizes.iter().all(|&s| s >= MIN_FONT_PX - 1e-9), "{sizes:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! SVG figures drawn with plotters' SVG backend (no system fonts, no C libraries): line
//! charts (linear or log y), decision regions of 2-D classifiers, and heat maps.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{ExampleError, Result};

const SIZE: (u32, u32) = (720, 480);

/// A named series of `(x, y)` points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from a label and points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
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

fn color(i: usize) -> RGBColor {
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

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

fn with_root(
    path: &Path,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fig_err(path, e))?;
    draw(&root)?;
    root.present().map_err(|e| fig_err(path, e))
}

/// A line chart of several series; with `log_y` the vertical axis is logarithmic (points
/// with y ≤ 0 are left out then).
///
/// # Errors
/// [`ExampleError::Figure`] if the file cannot be drawn or written.
pub fn line_chart(path: &Path, labels: Labels<'_>, series: &[Series], log_y: bool) -> Result<()> {
    line_chart_with(
        path,
        labels,
        series,
        &ChartOptions {
            log_y,
            ..ChartOptions::default()
        },
    )
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

/// The decision regions of a 2-D classifier over `[x0, x1] × [y0, y1]` (colour by the class
/// `classify` returns on a grid), the data points on top, and optional straight lines
/// `a·x + b·y + c = 0`.
///
/// # Errors
/// [`ExampleError::Figure`] if the file cannot be drawn or written.
pub fn decision_regions(
    path: &Path,
    title: &str,
    ((x0, x1), (y0, y1)): ((f64, f64), (f64, f64)),
    classify: &dyn Fn(f64, f64) -> usize,
    points: &[Point2],
    lines: &[(f64, f64, f64)],
) -> Result<()> {
    const GRID: usize = 120;
    with_root(path, |root| {
        let e = |e| fig_err(path, e);
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("x₁")
            .y_desc("x₂")
            .draw()
            .map_err(e)?;
        let (dx, dy) = ((x1 - x0) / GRID as f64, (y1 - y0) / GRID as f64);
        let cells = (0..GRID).flat_map(|i| (0..GRID).map(move |j| (i, j)));
        chart
            .draw_series(cells.map(|(i, j)| {
                let (x, y) = (x0 + i as f64 * dx, y0 + j as f64 * dy);
                let c = color(classify(x + dx / 2.0, y + dy / 2.0)).mix(0.25);
                Rectangle::new([(x, y), (x + dx, y + dy)], c.filled())
            }))
            .map_err(e)?;
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
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.x, p.y), 3, color(p.class).filled())),
            )
            .map_err(e)?;
        Ok(())
    })
}

/// A heat map of `values[row][col]` with each cell's value written in it (e.g. a confusion
/// matrix: rows actual, columns predicted).
///
/// # Errors
/// [`ExampleError::Figure`] if the file cannot be drawn or written.
pub fn heatmap(path: &Path, labels: Labels<'_>, values: &[Vec<f64>]) -> Result<()> {
    let rows = values.len();
    let cols = values.iter().map(Vec::len).max().unwrap_or(0);
    let max = values
        .iter()
        .flatten()
        .copied()
        .fold(0.0f64, f64::max)
        .max(1e-300);
    with_root(path, |root| {
        let e = |e| fig_err(path, e);
        let mut chart = ChartBuilder::on(root)
            .caption(labels.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(45)
            .build_cartesian_2d(0..cols as i32, 0..rows as i32)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(labels.x)
            .y_desc(labels.y)
            .x_labels(cols)
            .y_labels(rows)
            .draw()
            .map_err(e)?;
        for (r, row) in values.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                // row 0 at the top, as a matrix is read
                let y = (rows - 1 - r) as i32;
                let shade = 1.0 - 0.8 * (v / max).clamp(0.0, 1.0);
                let fill = RGBColor((255.0 * shade) as u8, (255.0 * shade) as u8, 255);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(c as i32, y), (c as i32 + 1, y + 1)],
                        fill.filled(),
                    )))
                    .map_err(e)?;
                let text = if v.fract() == 0.0 {
                    format!("{v}")
                } else {
                    format!("{v:.2}")
                };
                chart
                    .draw_series(std::iter::once(Text::new(
                        text,
                        (c as i32, y + 1),
                        ("sans-serif", 13),
                    )))
                    .map_err(e)?;
            }
        }
        Ok(())
    })
}

/// A 2-D cost surface with paths drawn over it (e.g. the iterates of gradient descent).
#[derive(Clone, Copy)]
pub struct Surface<'a> {
    /// The plotted square `((x0, x1), (y0, y1))`.
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

/// Level bands of a cost surface (shaded by `ln(f − min)`, boundaries drawn as thin grey
/// lines, so they read as contours), the `paths` on top as lines with a dot at every
/// iterate, and `marks` (e.g. the analytic minimum) as labelled black crosses.
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
    const GRID: usize = 160;
    let ((x0, x1), (y0, y1)) = surface.range;
    let (dx, dy) = ((x1 - x0) / GRID as f64, (y1 - y0) / GRID as f64);
    let values: Vec<Vec<f64>> = (0..GRID)
        .map(|i| {
            (0..GRID)
                .map(|j| (surface.f)(x0 + (i as f64 + 0.5) * dx, y0 + (j as f64 + 0.5) * dy))
                .collect()
        })
        .collect();
    let (lo, hi) = bounds(values.iter().flatten().copied());
    // log of the excess over the minimum spreads the bands evenly around a minimum
    let scale = |v: f64| (v - lo + 1e-3 * (hi - lo)).ln();
    let (s0, s1) = (scale(lo), scale(hi));
    let levels = surface.levels.max(2);
    let band = |v: f64| -> usize {
        if !v.is_finite() {
            return levels - 1;
        }
        let t = ((scale(v) - s0) / (s1 - s0).max(1e-300)).clamp(0.0, 1.0);
        ((t * levels as f64) as usize).min(levels - 1)
    };
    let bands: Vec<Vec<usize>> = values
        .iter()
        .map(|col| col.iter().map(|&v| band(v)).collect())
        .collect();
    with_root(path, |root| {
        let e = |e| fig_err(path, e);
        let mut chart = ChartBuilder::on(root)
            .caption(labels.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(labels.x)
            .y_desc(labels.y)
            .draw()
            .map_err(e)?;
        let shade = |b: usize| {
            // light (low cost) to a darker blue (high cost)
            let t = b as f64 / (levels - 1) as f64;
            RGBColor(
                (252.0 - 100.0 * t) as u8,
                (252.0 - 70.0 * t) as u8,
                (255.0 - 25.0 * t) as u8,
            )
        };
        let cells = (0..GRID).flat_map(|i| (0..GRID).map(move |j| (i, j)));
        chart
            .draw_series(cells.map(|(i, j)| {
                let (x, y) = (x0 + i as f64 * dx, y0 + j as f64 * dy);
                Rectangle::new([(x, y), (x + dx, y + dy)], shade(bands[i][j]).filled())
            }))
            .map_err(e)?;
        let mut edges = Vec::new();
        for i in 0..GRID {
            for j in 0..GRID {
                let (x, y) = (x0 + (i + 1) as f64 * dx, y0 + (j + 1) as f64 * dy);
                if i + 1 < GRID && bands[i][j] != bands[i + 1][j] {
                    edges.push(vec![(x, y - dy), (x, y)]);
                }
                if j + 1 < GRID && bands[i][j] != bands[i][j + 1] {
                    edges.push(vec![(x - dx, y), (x, y)]);
                }
            }
        }
        let grey = RGBColor(110, 110, 130);
        chart
            .draw_series(edges.into_iter().map(|s| PathElement::new(s, grey)))
            .map_err(e)?;
        for (k, s) in paths.iter().enumerate() {
            let c = color(k + 1);
            let inside = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite();
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied().filter(inside),
                    c.stroke_width(2),
                ))
                .map_err(e)?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
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
        for &(label, p) in marks {
            chart
                .draw_series(std::iter::once(Cross::new(p, 7, BLACK.stroke_width(3))))
                .map_err(e)?;
            // the label goes to the right of the mark, or to its left near the right edge
            let width = 0.012 * (x1 - x0) * label.chars().count() as f64;
            let lx = if p.0 + width > x1 - 0.02 * (x1 - x0) {
                p.0 - width - 0.02 * (x1 - x0)
            } else {
                p.0 + 0.02 * (x1 - x0)
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    label.to_string(),
                    (lx, p.1 + 0.05 * (y1 - y0)),
                    ("sans-serif", 15),
                )))
                .map_err(e)?;
        }
        if !paths.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(e)?;
        }
        Ok(())
    })
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
}

/// Options of [`line_chart_with`]. The default is linear axes, legend top right.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChartOptions {
    /// Logarithmic horizontal axis (points with x ≤ 0 are left out).
    pub log_x: bool,
    /// Logarithmic vertical axis (points with y ≤ 0 are left out).
    pub log_y: bool,
    /// Legend position.
    pub legend: Legend,
}

/// A tick label: plain for moderate magnitudes, `1e-14` style otherwise.
fn tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else if a >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A line chart of several series with a choice of log axes and legend position; tick
/// labels on log axes read `1e-14`, `1e6`.
///
/// # Errors
/// [`ExampleError::Figure`] if the file cannot be drawn or written.
pub fn line_chart_with(
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
    let x_range = if options.log_x {
        // a little room so that the end decades get their tick labels
        (x0 / 1.25, x1 * 1.25)
    } else {
        (x0, x1.max(x0 + 1e-12))
    };
    let y_range = if options.log_y {
        (y0 / 2.0, y1 * 2.0)
    } else {
        let pad = 0.05 * (y1 - y0);
        (y0 - pad, y1 + pad)
    };
    let position = match options.legend {
        Legend::UpperRight => SeriesLabelPosition::UpperRight,
        Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
        Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
        Legend::LowerRight => SeriesLabelPosition::LowerRight,
        Legend::MiddleRight => SeriesLabelPosition::MiddleRight,
    };
    with_root(path, |root| {
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(labels.title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(64);
        let e = |e| fig_err(path, e);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(labels.x)
                    .y_desc(labels.y)
                    .x_labels(10)
                    .y_labels(12)
                    .x_label_formatter(&|v| tick(*v))
                    .y_label_formatter(&|v| tick(*v))
                    .draw()
                    .map_err(e)?;
                for (i, s) in series.iter().enumerate() {
                    let c = color(i);
                    chart
                        .draw_series(LineSeries::new(
                            s.points.iter().copied().filter(keep),
                            c.stroke_width(2),
                        ))
                        .map_err(e)?
                        .label(s.name.as_str())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                        });
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.9))
                    .border_style(BLACK)
                    .position(position)
                    .draw()
                    .map_err(e)?;
            }};
        }
        let (xr, yr) = (x_range.0..x_range.1, y_range.0..y_range.1);
        match (options.log_x, options.log_y) {
            (false, false) => draw!(builder.build_cartesian_2d(xr, yr).map_err(e)?),
            (true, false) => draw!(builder.build_cartesian_2d(xr.log_scale(), yr).map_err(e)?),
            (false, true) => draw!(builder.build_cartesian_2d(xr, yr.log_scale()).map_err(e)?),
            (true, true) => draw!(
                builder
                    .build_cartesian_2d(xr.log_scale(), yr.log_scale())
                    .map_err(e)?
            ),
        }
        Ok(())
    })
}

/// A confusion matrix `counts[actual][predicted]` as a grid of shaded cells: actual
/// classes down the side (the first at the top), predicted classes along the bottom, each
/// axis tick under its cell's centre and each count centred in its cell. The diagonal
/// (correct) is shaded blue, off-diagonal cells (mistakes) red.
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
            RGBColor((255.0 - 200.0 * t) as u8, (255.0 - 150.0 * t) as u8, 255)
        } else if v > 0.0 {
            let s = (225.0 - 150.0 * t.sqrt()) as u8;
            RGBColor(255, s, s)
        } else {
            WHITE
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
        RGBColor((255.0 - 200.0 * t) as u8, (255.0 - 150.0 * t) as u8, 255)
    };
    grid(path, labels, (&rows, &cols), values, &shade, false)
}

/// Shaded cells with centred values and per-cell tick labels, row 0 at the top.
fn grid(
    path: &Path,
    labels: Labels<'_>,
    (row_names, col_names): (&[String], &[String]),
    values: &[Vec<f64>],
    shade: &dyn Fn(usize, usize, f64) -> RGBColor,
    skip_zeros: bool,
) -> Result<()> {
    let (rows, cols) = (row_names.len().max(1) as i32, col_names.len().max(1) as i32);
    let name = |names: &[String], i: i32| -> String {
        usize::try_from(i)
            .ok()
            .and_then(|i| names.get(i))
            .cloned()
            .unwrap_or_default()
    };
    with_root(path, |root| {
        let e = |e| fig_err(path, e);
        let mut chart = ChartBuilder::on(root)
            .caption(labels.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(
                (0..cols - 1).into_segmented(),
                (0..rows - 1).into_segmented(),
            )
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(labels.x)
            .y_desc(labels.y)
            .x_labels(col_names.len() + 1)
            .y_labels(row_names.len() + 1)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => name(col_names, *i),
                _ => String::new(),
            })
            .y_label_formatter(&|v| match v {
                // row 0 at the top, as a matrix is read
                SegmentValue::CenterOf(i) => name(row_names, rows - 1 - *i),
                _ => String::new(),
            })
            .draw()
            .map_err(e)?;
        let centre = ("sans-serif", 15).into_font().into_text_style(root).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ),
        );
        for (r, row) in values.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                let (x, y) = (c as i32, rows - 1 - r as i32);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [
                            (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                            (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                        ],
                        shade(r, c, v).filled(),
                    )))
                    .map_err(e)?;
                if !(skip_zeros && v == 0.0) {
                    chart
                        .draw_series(std::iter::once(Text::new(
                            format!("{v:.0}"),
                            (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                            centre.clone(),
                        )))
                        .map_err(e)?;
                }
            }
        }
        Ok(())
    })
}

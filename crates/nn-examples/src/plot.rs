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
    let keep = |&(_, y): &(f64, f64)| y.is_finite() && (!log_y || y > 0.0);
    let (x0, x1) = bounds(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let (y0, y1) = bounds(
        series
            .iter()
            .flat_map(|s| s.points.iter().filter(|p| keep(p)).map(|p| p.1)),
    );
    with_root(path, |root| {
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(labels.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70);
        let e = |e| fig_err(path, e);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(labels.x)
                    .y_desc(labels.y)
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
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()
                    .map_err(e)?;
            }};
        }
        if log_y {
            draw!(
                builder
                    .build_cartesian_2d(x0..x1, (y0 * 0.8..y1 * 1.25).log_scale())
                    .map_err(e)?
            );
        } else {
            let pad = 0.05 * (y1 - y0);
            draw!(
                builder
                    .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
                    .map_err(e)?
            );
        }
        Ok(())
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

//! Seeded synthetic data sets: the small problems the theory's experiments are run on.
//!
//! Every generator takes an explicit seed and draws from [`SeededRng`], so the same
//! arguments give the same bits on every platform. Two-class problems have a one-row `Y`
//! of 0/1 (for a sigmoid output with binary cross-entropy); `K`-class problems a one-hot
//! `Y` of `K` rows (softmax with categorical cross-entropy). Examples are columns.
//!
//! | generator | features | classes | what makes it hard |
//! |---|---|---|---|
//! | [`xor`] | 2 | 2 | not linearly separable: needs a hidden layer |
//! | [`two_circles`] | 2 | 2 | one class encloses the other |
//! | [`two_moons`] | 2 | 2 | interleaved half-circles |
//! | [`spirals`] | 2 | `K` | `K` interleaved arms |
//! | [`blobs`] | `d` | `K` | Gaussian clusters: easy, linearly separable when far apart |
//! | [`triangle`] | 2 | 2 | inside/outside a triangle: needs three hidden units |
//! | [`parity`] | `n` | 2 | every bit matters: the classic hard case for shallow nets |

use std::f64::consts::PI;

use nalgebra::DMatrix;
use nn_init::{SeededRng, Stream};

use super::Dataset;
use crate::error::{Result, TrainError};

fn check_count(what: &'static str, m: usize) -> Result<()> {
    if m == 0 {
        return Err(TrainError::EmptyData { what });
    }
    Ok(())
}

fn check_noise(noise: f64) -> Result<()> {
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(TrainError::InvalidConfig {
            what: "noise",
            expected: "finite and ≥ 0",
            found: noise.to_string(),
        });
    }
    Ok(())
}

/// Two-feature points with 0/1 labels as a data set.
fn binary(points: Vec<[f64; 2]>, labels: &[bool]) -> Result<Dataset<f64>> {
    let m = points.len();
    let x = DMatrix::from_fn(2, m, |i, j| points[j][i]);
    let y = DMatrix::from_fn(1, m, |_, j| if labels[j] { 1.0 } else { 0.0 });
    Dataset::new(x, y)
}

/// The four XOR points `(0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0`.
///
/// ```
/// let d = nn_train::data::synthetic::xor();
/// assert_eq!(d.y().as_slice(), &[0.0, 1.0, 1.0, 0.0]);
/// ```
pub fn xor() -> Dataset<f64> {
    Dataset {
        x: DMatrix::from_row_slice(2, 4, &[0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0]),
        y: DMatrix::from_row_slice(1, 4, &[0.0, 1.0, 1.0, 0.0]),
        class_names: None,
    }
}

/// `m` points on two concentric circles: radius 1 (label 0) and radius `factor < 1`
/// (label 1), alternating, at uniform angles, with Gaussian noise of standard deviation
/// `noise` added to each coordinate (scikit-learn's `make_circles`).
///
/// # Errors
/// [`TrainError::EmptyData`] for `m = 0`; [`TrainError::InvalidConfig`] for negative
/// noise or a factor outside `(0, 1)`.
pub fn two_circles(m: usize, factor: f64, noise: f64, seed: u64) -> Result<Dataset<f64>> {
    check_count("two circles", m)?;
    check_noise(noise)?;
    if !(factor > 0.0 && factor < 1.0) {
        return Err(TrainError::InvalidConfig {
            what: "inner circle factor",
            expected: "in (0, 1)",
            found: factor.to_string(),
        });
    }
    let mut rng = SeededRng::for_stream(seed, Stream::SyntheticData);
    let labels: Vec<bool> = (0..m).map(|j| j % 2 == 1).collect();
    let points = labels
        .iter()
        .map(|&inner| {
            let r = if inner { factor } else { 1.0 };
            let t = rng.uniform(0.0, 2.0 * PI);
            let (dx, dy) = (rng.normal(0.0, noise), rng.normal(0.0, noise));
            [r * t.cos() + dx, r * t.sin() + dy]
        })
        .collect();
    binary(points, &labels)
}

/// `m` points on two interleaved half-circles (scikit-learn's `make_moons`): the upper
/// moon `(cos t, sin t)` (label 0) and the lower `(1 − cos t, 0.5 − sin t)` (label 1),
/// `t` uniform in `[0, π]`, plus Gaussian noise of standard deviation `noise`.
///
/// # Errors
/// [`TrainError::EmptyData`] for `m = 0`; [`TrainError::InvalidConfig`] for negative noise.
pub fn two_moons(m: usize, noise: f64, seed: u64) -> Result<Dataset<f64>> {
    check_count("two moons", m)?;
    check_noise(noise)?;
    let mut rng = SeededRng::for_stream(seed, Stream::SyntheticData);
    let labels: Vec<bool> = (0..m).map(|j| j % 2 == 1).collect();
    let points = labels
        .iter()
        .map(|&lower| {
            let t = rng.uniform(0.0, PI);
            let (x, y) = if lower {
                (1.0 - t.cos(), 0.5 - t.sin())
            } else {
                (t.cos(), t.sin())
            };
            [x + rng.normal(0.0, noise), y + rng.normal(0.0, noise)]
        })
        .collect();
    binary(points, &labels)
}

/// `per_class` points on each of `classes` interleaved spiral arms (the CS231n spiral):
/// arm `k` at radius `r = i/per_class` has angle `4r + 2πk/K` plus Gaussian noise of
/// standard deviation `noise` (in radians), point `(r sin θ, r cos θ)`; one-hot targets.
///
/// # Errors
/// [`TrainError::EmptyData`] for no points; [`TrainError::InvalidConfig`] for fewer than
/// two classes or negative noise.
pub fn spirals(per_class: usize, classes: usize, noise: f64, seed: u64) -> Result<Dataset<f64>> {
    check_count("spirals", per_class)?;
    check_noise(noise)?;
    if classes < 2 {
        return Err(TrainError::InvalidConfig {
            what: "spiral arms",
            expected: "≥ 2",
            found: classes.to_string(),
        });
    }
    let mut rng = SeededRng::for_stream(seed, Stream::SyntheticData);
    let m = per_class * classes;
    let mut x = DMatrix::zeros(2, m);
    let mut labels = Vec::with_capacity(m);
    for k in 0..classes {
        for i in 0..per_class {
            let j = k * per_class + i;
            let r = i as f64 / per_class as f64;
            let t = 4.0 * r + 2.0 * PI * k as f64 / classes as f64 + rng.normal(0.0, noise);
            x[(0, j)] = r * t.sin();
            x[(1, j)] = r * t.cos();
            labels.push(k);
        }
    }
    Dataset::new(x, super::one_hot(&labels, classes)?)
}

/// `per_class` points around each of the `centers` (each of the same dimension `d`),
/// Gaussian with standard deviation `std` per coordinate; one-hot targets with one class
/// per center.
///
/// # Errors
/// [`TrainError::EmptyData`] for no points or no centers; [`TrainError::BadInput`] for
/// centers of different or zero dimension; [`TrainError::InvalidConfig`] for a negative
/// `std`.
pub fn blobs(per_class: usize, centers: &[Vec<f64>], std: f64, seed: u64) -> Result<Dataset<f64>> {
    check_count("blobs", per_class)?;
    check_count("blob centers", centers.len())?;
    check_noise(std)?;
    let d = centers[0].len();
    if let Some(c) = centers.iter().find(|c| c.len() != d || c.is_empty()) {
        return Err(TrainError::BadInput {
            what: "blob center",
            expected: format!("{d} coordinates (like the first center), at least 1"),
            found: format!("{} coordinates", c.len()),
        });
    }
    let mut rng = SeededRng::for_stream(seed, Stream::SyntheticData);
    let m = per_class * centers.len();
    let mut x = DMatrix::zeros(d, m);
    let mut labels = Vec::with_capacity(m);
    for (k, center) in centers.iter().enumerate() {
        for i in 0..per_class {
            let j = k * per_class + i;
            for (r, &c) in center.iter().enumerate() {
                x[(r, j)] = c + rng.normal(0.0, std);
            }
            labels.push(k);
        }
    }
    Dataset::new(x, super::one_hot(&labels, centers.len())?)
}

/// The triangle of [`triangle`]: vertices `(−0.8, −0.6)`, `(0.8, −0.6)`, `(0, 0.8)`.
pub const TRIANGLE: [[f64; 2]; 3] = [[-0.8, -0.6], [0.8, -0.6], [0.0, 0.8]];

/// `m` points uniform in the square `[−1, 1]²`, labelled 1 inside the triangle
/// [`TRIANGLE`] and 0 outside. The region is the intersection of three half-planes, so a
/// hidden layer of three units (one per edge) can represent it exactly.
///
/// # Errors
/// [`TrainError::EmptyData`] for `m = 0`.
pub fn triangle(m: usize, seed: u64) -> Result<Dataset<f64>> {
    check_count("triangle", m)?;
    let mut rng = SeededRng::for_stream(seed, Stream::SyntheticData);
    let points: Vec<[f64; 2]> = (0..m)
        .map(|_| [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)])
        .collect();
    let labels: Vec<bool> = points.iter().map(|&p| inside_triangle(p)).collect();
    binary(points, &labels)
}

/// Whether `p` is strictly inside [`TRIANGLE`] (same side of all three edges).
pub fn inside_triangle(p: [f64; 2]) -> bool {
    let side =
        |a: [f64; 2], b: [f64; 2]| (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
    let [a, b, c] = TRIANGLE;
    let (s1, s2, s3) = (side(a, b), side(b, c), side(c, a));
    (s1 > 0.0 && s2 > 0.0 && s3 > 0.0) || (s1 < 0.0 && s2 < 0.0 && s3 < 0.0)
}

/// All `2ⁿ` patterns of `bits` bits (column `j` holds the binary digits of `j`, least
/// significant first), labelled 1 when the number of ones is odd. Deterministic: the set is
/// complete, so there is nothing to draw.
///
/// # Errors
/// [`TrainError::InvalidConfig`] unless `1 ≤ bits ≤ 20`.
pub fn parity(bits: usize) -> Result<Dataset<f64>> {
    if !(1..=20).contains(&bits) {
        return Err(TrainError::InvalidConfig {
            what: "parity bits",
            expected: "in 1..=20",
            found: bits.to_string(),
        });
    }
    let m = 1usize << bits;
    let x = DMatrix::from_fn(bits, m, |i, j| ((j >> i) & 1) as f64);
    let y = DMatrix::from_fn(1, m, |_, j| (j.count_ones() % 2) as f64);
    Dataset::new(x, y)
}

//! Per-feature scalings: standardisation (z-score) and min–max, each fitted on training
//! data only; a constant feature maps to 0 instead of dividing by zero.

use nalgebra::DMatrix;

/// The per-feature mean and population standard deviation `σ = √((1/m) Σ (x − μ)²)`; a
/// feature whose `σ` is zero (or only rounding noise, `σ ≤ 10⁻¹² |μ|`) gets scale 1.
pub(super) fn standardize(x: &DMatrix<f64>) -> (Vec<f64>, Vec<f64>) {
    let m = x.ncols() as f64;
    let mut mean = Vec::with_capacity(x.nrows());
    let mut scale = Vec::with_capacity(x.nrows());
    for row in x.row_iter() {
        let mu = row.iter().sum::<f64>() / m;
        let var = row.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / m;
        let sd = var.sqrt();
        mean.push(mu);
        scale.push(if sd == 0.0 || sd <= 1e-12 * mu.abs() {
            1.0
        } else {
            sd
        });
    }
    (mean, scale)
}

/// The per-feature minimum and range `max − min`; a constant feature gets range 1.
pub(super) fn min_max(x: &DMatrix<f64>) -> (Vec<f64>, Vec<f64>) {
    let mut low = Vec::with_capacity(x.nrows());
    let mut range = Vec::with_capacity(x.nrows());
    for row in x.row_iter() {
        let lo = row.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        low.push(lo);
        range.push(if hi > lo { hi - lo } else { 1.0 });
    }
    (low, range)
}

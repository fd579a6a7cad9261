//! Per-feature scalings: standardisation (z-score) and min–max, each fitted on training
//! data only; a constant feature maps to 0 instead of dividing by zero.

use nalgebra::DMatrix;

/// The per-feature mean and population standard deviation `σ = √((1/m) Σ (x − μ)²)`; a
/// feature whose `σ` is zero (or only rounding noise, `σ ≤ 10⁻¹² |μ|`) gets scale 1.
///
/// Two passes over each feature divided by its largest magnitude `c` (`μ = c·mean(x/c)`,
/// `σ = c·sd(x/c)`): every intermediate is at most a few units, so no finite input
/// overflows (`Σ x²` of 10²⁰⁰ would be `inf`). Dividing by a power of two keeps it exact
/// for data that did not need it.
pub(crate) fn standardize(x: &DMatrix<f64>) -> (Vec<f64>, Vec<f64>) {
    let m = x.ncols() as f64;
    let mut mean = Vec::with_capacity(x.nrows());
    let mut scale = Vec::with_capacity(x.nrows());
    for row in x.row_iter() {
        let c = power_of_two_above(row.iter().fold(0.0_f64, |a, v| a.max(v.abs())));
        let mu1 = row.iter().map(|v| v / c).sum::<f64>() / m;
        let var1 = row
            .iter()
            .map(|v| (v / c - mu1) * (v / c - mu1))
            .sum::<f64>()
            / m;
        let (mu, sd) = (mu1 * c, var1.sqrt() * c);
        mean.push(mu);
        scale.push(if sd == 0.0 || sd <= 1e-12 * mu.abs() {
            1.0
        } else {
            sd
        });
    }
    (mean, scale)
}

/// The smallest power of two ≥ `a` (1 for 0): dividing by it is exact, so the scaled
/// statistics are the plain ones wherever those did not overflow.
fn power_of_two_above(a: f64) -> f64 {
    if a == 0.0 {
        return 1.0;
    }
    let mut c = 1.0_f64;
    while c < a && c <= f64::MAX / 2.0 {
        c *= 2.0;
    }
    while c / 2.0 >= a {
        c /= 2.0;
    }
    c
}

/// `(x − shift) / scale`, also where `x − shift` overflows (features near ±f64::MAX):
/// then as `x/scale − shift/scale`.
pub(crate) fn centre_and_scale(x: f64, shift: f64, scale: f64) -> f64 {
    let v = (x - shift) / scale;
    if v.is_finite() {
        v
    } else {
        x / scale - shift / scale
    }
}

/// The per-feature minimum and range `max − min`; a constant feature gets range 1.
pub(crate) fn min_max(x: &DMatrix<f64>) -> (Vec<f64>, Vec<f64>) {
    let mut low = Vec::with_capacity(x.nrows());
    let mut range = Vec::with_capacity(x.nrows());
    for row in x.row_iter() {
        let lo = row.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        low.push(lo);
        // `hi − lo` overflows only past f64::MAX: keep the largest finite range then, so
        // the encoded values stay finite (within [0, 2]) instead of the encoder being
        // unsavable.
        range.push(if hi > lo {
            (hi - lo).min(f64::MAX)
        } else {
            1.0
        });
    }
    (low, range)
}

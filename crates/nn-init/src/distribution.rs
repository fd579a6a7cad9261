//! Initializers with explicit parameters: uniform on `[low, high)` and normal with a given
//! mean and standard deviation.
//!
//! ```text
//! Uniform(a, b):    mean (a + b)/2,   Var = (b − a)² / 12
//! Normal(μ, σ):     mean μ,           Var = σ²
//! ```
//!
//! Entries are drawn in column-major order (the storage order of nalgebra's matrices),
//! in `f64` (normals two at a time, both values of each polar pair), and rounded to the
//! element type, so an `f32` matrix is exactly the `f64` one
//! from the same generator state, rounded.

use nalgebra::DMatrix;
use nn_activations::nn_core::Scalar;

use crate::SeededRng;

/// An `rows × cols` matrix whose entries are `sample()`, drawn column by column.
pub(crate) fn fill<T: Scalar>(
    rows: usize,
    cols: usize,
    mut sample: impl FnMut() -> f64,
) -> DMatrix<T> {
    let data: Vec<T> = (0..rows * cols).map(|_| T::cast(sample())).collect();
    DMatrix::from_vec(rows, cols, data)
}

/// Entries uniform on `[low, high)`; the caller checked `low < high`, both finite.
pub(crate) fn uniform<T: Scalar>(
    low: f64,
    high: f64,
    rows: usize,
    cols: usize,
    rng: &mut SeededRng,
) -> DMatrix<T> {
    fill(rows, cols, || rng.uniform(low, high))
}

/// `n` standard normals from [`SeededRng::fill_standard_normal`] (both values of each
/// polar pair).
pub(crate) fn standard_normals(n: usize, rng: &mut SeededRng) -> Vec<f64> {
    let mut z = vec![0.0; n];
    rng.fill_standard_normal(&mut z);
    z
}

/// Entries `mean + std·z`, `z` standard normal; the caller checked `std ≥ 0`, both finite.
pub(crate) fn normal<T: Scalar>(
    mean: f64,
    std: f64,
    rows: usize,
    cols: usize,
    rng: &mut SeededRng,
) -> DMatrix<T> {
    let z = standard_normals(rows * cols, rng);
    let data: Vec<T> = z.into_iter().map(|z| T::cast(mean + std * z)).collect();
    DMatrix::from_vec(rows, cols, data)
}

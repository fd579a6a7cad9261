//! The orthogonal initializer (Saxe et al., 2014): a uniformly random matrix with
//! orthonormal rows or columns, times a gain.
//!
//! ```text
//! G  = n × k standard normal,  n = max(n_out, n_in),  k = min(n_out, n_in)
//! G  = Q R                      (nalgebra's Householder QR, Q: n × k)
//! Q' = Q · diag(sign(R_jj))     (makes Q uniformly distributed, not biased by the QR)
//! W  = gain · Q'   if n_out ≥ n_in (orthonormal columns)
//! W  = gain · Q'ᵀ  otherwise       (orthonormal rows)
//! ```
//!
//! Every singular value of `W` is `gain`, so a linear stack of such layers neither grows
//! nor shrinks any direction. The entries' mean square is exactly `k·gain²/(n·k)`, i.e.
//!
//! ```text
//! Var = gain² / max(n_in, n_out)      (mean 0)
//! ```
//!
//! The Gaussian draws are as reproducible as every other initializer's; the QR is
//! nalgebra's arithmetic, so the bits of `W` are stable for a given nalgebra version.

use nalgebra::DMatrix;
use nn_activations::nn_core::Scalar;

use crate::SeededRng;
use crate::distribution::standard_normals;

/// A `rows × cols` matrix `gain·Q` with orthonormal columns (or rows, if wider than tall).
pub(crate) fn orthogonal<T: Scalar>(
    gain: f64,
    rows: usize,
    cols: usize,
    rng: &mut SeededRng,
) -> DMatrix<T> {
    let (n, k) = (rows.max(cols), rows.min(cols));
    let g = DMatrix::from_vec(n, k, standard_normals(n * k, rng));
    let qr = g.qr();
    let mut q = qr.q();
    let r = qr.r();
    for (j, mut col) in q.column_iter_mut().enumerate() {
        if r[(j, j)] < 0.0 {
            col.neg_mut();
        }
    }
    if rows < cols {
        q = q.transpose();
    }
    q.map(|v| T::cast(gain * v))
}

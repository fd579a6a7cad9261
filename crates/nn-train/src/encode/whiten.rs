//! PCA and ZCA whitening through the symmetric eigendecomposition of the covariance.
//!
//! ```text
//! C = (1/m) X_c X_cᵀ = U Λ Uᵀ           X_c = X − μ (columns centred)
//! D = (Λ + εI)^(−1/2)
//! PCA:  W = D Uᵀ          W⁻¹ = U D⁻¹          (rotate onto the principal axes, rescale)
//! ZCA:  W = U D Uᵀ        W⁻¹ = U D⁻¹ Uᵀ       (… and rotate back: closest to the input)
//! Cov(W X_c) = D Λ D = Λ (Λ + ε)⁻¹ → I as ε → 0
//! ```
//!
//! Eigenvalues are sorted in decreasing order and each eigenvector's largest-magnitude
//! component is made positive, so the result does not depend on the solver's ordering or
//! signs.

use nalgebra::{DMatrix, SymmetricEigen};

use crate::error::{DataError, Result};

/// `(W, W⁻¹)` for centred data `xc` (features × m).
pub(super) fn fit(
    xc: &DMatrix<f64>,
    epsilon: f64,
    zca: bool,
) -> Result<(DMatrix<f64>, DMatrix<f64>)> {
    let n = xc.nrows();
    let m = xc.ncols() as f64;
    let cov = (xc * xc.transpose()) / m;
    let eig = SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let lambda: Vec<f64> = order.iter().map(|&k| eig.eigenvalues[k].max(0.0)).collect();
    let mut u = DMatrix::zeros(n, n);
    for (dst, &src) in order.iter().enumerate() {
        let mut v = eig.eigenvectors.column(src).into_owned();
        let big = v
            .iter()
            .copied()
            .fold(0.0f64, |a, x| if x.abs() > a.abs() { x } else { a });
        if big < 0.0 {
            v.neg_mut();
        }
        u.set_column(dst, &v);
    }
    let largest = lambda.first().copied().unwrap_or(0.0);
    let smallest = lambda.last().copied().unwrap_or(0.0);
    let singular = largest <= 0.0 || smallest <= n as f64 * f64::EPSILON * largest;
    if !lambda.iter().all(|l| l.is_finite()) || (epsilon == 0.0 && singular) {
        return Err(DataError::SingularCovariance {
            smallest,
            largest,
            epsilon,
        }
        .into());
    }
    let d: Vec<f64> = lambda.iter().map(|l| 1.0 / (l + epsilon).sqrt()).collect();
    // D Uᵀ and U D⁻¹.
    let d_ut = DMatrix::from_fn(n, n, |i, j| d[i] * u[(j, i)]);
    let u_dinv = DMatrix::from_fn(n, n, |i, j| u[(i, j)] / d[j]);
    if zca {
        Ok((&u * d_ut, u_dinv * u.transpose()))
    } else {
        Ok((d_ut, u_dinv))
    }
}

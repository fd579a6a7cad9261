//! Finite-difference gradient checking: the reference every derivative in the workspace is
//! tested against.
//!
//! For a scalar function `f` of a matrix `X`, the numerical partial derivative at entry
//! `(i, j)` is the five-point central difference
//!
//! ```text
//! ∂f/∂X_ij ≈ [8 (f(X + h E_ij) − f(X − h E_ij)) − (f(X + 2h E_ij) − f(X − 2h E_ij))] / (12 h)
//! ```
//!
//! whose truncation error is O(h⁴) (the three-point `(f(X+h) − f(X−h)) / 2h` is O(h²) and
//! is available too). With `h = 1e-4` in `f64`, truncation is ~1e-16 and rounding ~1e-12·|f|,
//! so a correct gradient agrees to ~1e-9 and a wrong one (a missing transpose, a missing
//! `1/m`) is off by O(1).
//!
//! Each entry is compared with the relative error
//!
//! ```text
//! rel(a, n) = |a − n| / max(|a|, |n|, floor)
//! ```
//!
//! which is the usual relative error for gradients of ordinary size and turns into an
//! absolute error (scaled by `1/floor`) when both are near zero, where a relative error
//! would only measure rounding noise.

use std::fmt;

use nalgebra::DMatrix;

use crate::CoreError;
use crate::ops::expect_shape;

/// Which central-difference formula to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stencil {
    /// `(f(x+h) − f(x−h)) / 2h`: error O(h²), two evaluations per entry.
    ThreePoint,
    /// `(8(f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))) / 12h`: error O(h⁴), four evaluations.
    FivePoint,
}

/// Configuration of a gradient check. The default is `h = 1e-4`, five-point stencil,
/// `floor = 1e-3`.
///
/// The stencil reaches `2h` away from the point: keep inputs further than that from a
/// kink (ReLU at 0) or the check measures the kink, not the derivative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradCheck {
    /// The finite-difference step `h` (> 0).
    pub step: f64,
    /// The difference formula.
    pub stencil: Stencil,
    /// Below this magnitude the relative error becomes an absolute error (> 0).
    pub floor: f64,
}

impl Default for GradCheck {
    fn default() -> Self {
        Self {
            step: 1e-4,
            stencil: Stencil::FivePoint,
            floor: 1e-3,
        }
    }
}

/// The outcome of a gradient check: the worst entry and how far off it was.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckReport {
    /// Largest relative error over all entries (see the module docs for the metric).
    pub max_rel_error: f64,
    /// Largest absolute error `|analytic − numeric|` over all entries.
    pub max_abs_error: f64,
    /// `(row, column)` of the entry with the largest relative error.
    pub worst: (usize, usize),
    /// The analytic gradient at `worst`.
    pub analytic: f64,
    /// The numerical gradient at `worst`.
    pub numeric: f64,
    /// How many entries were checked.
    pub entries: usize,
}

impl GradCheckReport {
    /// `true` if every entry's relative error is at most `tol`.
    pub fn passes(&self, tol: f64) -> bool {
        self.max_rel_error <= tol
    }
}

impl fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max relative error {:.3e} at ({}, {}): analytic {:.12e}, numeric {:.12e} \
             (max absolute error {:.3e} over {} entries)",
            self.max_rel_error,
            self.worst.0,
            self.worst.1,
            self.analytic,
            self.numeric,
            self.max_abs_error,
            self.entries
        )
    }
}

impl GradCheck {
    fn validate(&self) -> Result<(), CoreError> {
        let bad = |what, found| CoreError::InvalidArgument {
            op: "gradcheck",
            what,
            expected: "finite and > 0",
            found,
        };
        if !(self.step.is_finite() && self.step > 0.0) {
            return Err(bad("step", self.step));
        }
        if !(self.floor.is_finite() && self.floor > 0.0) {
            return Err(bad("floor", self.floor));
        }
        Ok(())
    }

    /// The numerical gradient of `f` at `x`, by central differences.
    ///
    /// `f` is called with `x` perturbed in one entry at a time (2 or 4 calls per entry).
    ///
    /// # Errors
    /// [`CoreError::InvalidArgument`] for a bad step or floor; [`CoreError::NonFinite`] if
    /// `f` returns NaN or ±∞ at a perturbed point.
    pub fn numeric_gradient(
        &self,
        mut f: impl FnMut(&DMatrix<f64>) -> f64,
        x: &DMatrix<f64>,
    ) -> Result<DMatrix<f64>, CoreError> {
        self.validate()?;
        let h = self.step;
        let mut xp = x.clone();
        let mut grad = DMatrix::zeros(x.nrows(), x.ncols());
        for idx in 0..x.len() {
            let x0 = x[idx];
            let mut eval = |delta: f64| -> Result<f64, CoreError> {
                xp[idx] = x0 + delta;
                let v = f(&xp);
                xp[idx] = x0;
                if v.is_finite() {
                    Ok(v)
                } else {
                    Err(CoreError::NonFinite {
                        op: "gradcheck",
                        operand: "f(x) at a perturbed point",
                        row: idx % x.nrows(),
                        col: idx / x.nrows(),
                        value: v,
                    })
                }
            };
            grad[idx] = match self.stencil {
                Stencil::ThreePoint => (eval(h)? - eval(-h)?) / (2.0 * h),
                Stencil::FivePoint => {
                    let d1 = eval(h)? - eval(-h)?;
                    let d2 = eval(2.0 * h)? - eval(-2.0 * h)?;
                    (8.0 * d1 - d2) / (12.0 * h)
                }
            };
        }
        Ok(grad)
    }

    /// Compares `analytic` (the gradient your code computed) with the numerical gradient of
    /// `f` at `x`, entry by entry.
    ///
    /// # Errors
    /// [`CoreError::ShapeMismatch`] if `analytic` is not the shape of `x`; otherwise as
    /// [`GradCheck::numeric_gradient`].
    pub fn check(
        &self,
        f: impl FnMut(&DMatrix<f64>) -> f64,
        x: &DMatrix<f64>,
        analytic: &DMatrix<f64>,
    ) -> Result<GradCheckReport, CoreError> {
        expect_shape(
            "gradcheck",
            "analytic gradient",
            x.shape(),
            analytic.shape(),
        )?;
        let numeric = self.numeric_gradient(f, x)?;
        let mut report = GradCheckReport {
            max_rel_error: 0.0,
            max_abs_error: 0.0,
            worst: (0, 0),
            analytic: analytic.get(0).copied().unwrap_or(0.0),
            numeric: numeric.get(0).copied().unwrap_or(0.0),
            entries: x.len(),
        };
        for idx in 0..x.len() {
            let (a, n) = (analytic[idx], numeric[idx]);
            // A NaN in the analytic gradient must fail the check, not slip past comparisons.
            let abs = match (a - n).abs() {
                d if d.is_nan() => f64::INFINITY,
                d => d,
            };
            let rel = abs / a.abs().max(n.abs()).max(self.floor);
            report.max_abs_error = report.max_abs_error.max(abs);
            if rel > report.max_rel_error {
                report.max_rel_error = rel;
                report.worst = (idx % x.nrows(), idx / x.nrows());
                report.analytic = a;
                report.numeric = n;
            }
        }
        Ok(report)
    }
}

/// Checks an analytic gradient against central finite differences with the default
/// configuration ([`GradCheck::default`]).
///
/// `f` maps `X` to a scalar cost; `analytic` is what your backward computed for `∂f/∂X`.
/// The report names the worst entry; assert on `report.max_rel_error`.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `analytic` is not the shape of `x`;
/// [`CoreError::NonFinite`] if `f` is not finite at a perturbed point.
///
/// # Example
/// ```
/// use nn_core::DMatrix;
/// use nn_core::gradcheck;
/// // f(X) = Σ X_ij³ has gradient 3 X².
/// let x = DMatrix::from_row_slice(2, 2, &[0.5, -1.0, 2.0, 0.25]);
/// let f = |x: &DMatrix<f64>| x.iter().map(|v| v * v * v).sum::<f64>();
/// let good = x.map(|v| 3.0 * v * v);
/// let report = gradcheck(f, &x, &good)?;
/// assert!(report.max_rel_error < 1e-9, "{report}");
///
/// let wrong = x.map(|v| 2.0 * v * v); // a wrong derivative is caught
/// assert!(gradcheck(f, &x, &wrong)?.max_rel_error > 0.1);
/// # Ok::<(), nn_core::CoreError>(())
/// ```
pub fn gradcheck(
    f: impl FnMut(&DMatrix<f64>) -> f64,
    x: &DMatrix<f64>,
    analytic: &DMatrix<f64>,
) -> Result<GradCheckReport, CoreError> {
    GradCheck::default().check(f, x, analytic)
}

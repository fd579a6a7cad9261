//! The fully connected layer: `Z = W A_prev + b`, `A = g(Z)`, and its backward.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::{
    Scalar, Trans, broadcast_column_into, fit_buffer, gemm_into, mean_columns_into,
};

use super::layer::{set_weight_or_bias, upstream_pre_activation};
use crate::error::{Result, TrainError};
use crate::layers::{FeatureShape, Layer, Mode, ParamMut, Upstream};

/// A dense (fully connected) layer with `W: (units, inputs)`, `b: (units, 1)` and an
/// activation `g`.
///
/// ```text
/// forward    Z = W A_prev + b             A = g(Z)
/// backward   dZ = dA ∘ g'(Z)              (or dZ given by a fused loss)
///            dW = (1/m) dZ A_prevᵀ        db = (1/m) Σ_columns dZ
///            dA_prev = Wᵀ dZ
/// ```
///
/// Every product is one GEMM with the transpose folded in; `Z = W A_prev + b` is a bias
/// fill followed by a GEMM accumulating into it. The caches (`Z`, `A`, `dZ`) and gradients
/// live in the layer and are reused from batch to batch.
#[derive(Debug, Clone)]
pub struct Dense<T: Scalar> {
    w: DMatrix<T>,
    b: DMatrix<T>,
    activation: Activation,
    dw: DMatrix<T>,
    db: DMatrix<T>,
    z: DMatrix<T>,
    a: DMatrix<T>,
    dz: DMatrix<T>,
}

impl<T: Scalar> Dense<T> {
    /// A layer with the given weights `W: (units, inputs)` and bias `b: (units, 1)`.
    ///
    /// # Errors
    /// [`TrainError::BadShape`] if `b` is not `rows(W) × 1` or `W` is empty;
    /// [`TrainError::NonFiniteData`] if a parameter is NaN or infinite.
    pub fn new(w: DMatrix<T>, b: DMatrix<T>, activation: Activation) -> Result<Self> {
        if w.is_empty() {
            return Err(TrainError::BadShape {
                what: "dense weights W",
                expected: "at least 1×1".into(),
                found: format!("{}×{}", w.nrows(), w.ncols()),
            });
        }
        if b.shape() != (w.nrows(), 1) {
            return Err(TrainError::BadShape {
                what: "dense bias b",
                expected: format!("{}×1 (one per unit)", w.nrows()),
                found: format!("{}×{}", b.nrows(), b.ncols()),
            });
        }
        crate::check::finite("dense weights W", &w)?;
        crate::check::finite("dense bias b", &b)?;
        let (units, inputs) = w.shape();
        Ok(Self {
            dw: DMatrix::zeros(units, inputs),
            db: DMatrix::zeros(units, 1),
            w,
            b,
            activation,
            z: DMatrix::zeros(units, 0),
            a: DMatrix::zeros(units, 0),
            dz: DMatrix::zeros(units, 0),
        })
    }

    /// The weight matrix `W: (units, inputs)`.
    pub fn weights(&self) -> &DMatrix<T> {
        &self.w
    }

    /// The bias column `b: (units, 1)`.
    pub fn bias(&self) -> &DMatrix<T> {
        &self.b
    }

    /// The gradient `dW` of the last backward pass.
    pub fn weight_grad(&self) -> &DMatrix<T> {
        &self.dw
    }

    /// The gradient `db` of the last backward pass.
    pub fn bias_grad(&self) -> &DMatrix<T> {
        &self.db
    }

    /// Number of units (rows of `W`).
    pub fn units(&self) -> usize {
        self.w.nrows()
    }

    /// `Z = W A_prev + b` into a new matrix (evaluation: nothing cached).
    fn logits(&self, input: &DMatrix<T>) -> Result<DMatrix<T>> {
        self.check_input(input)?;
        if self.b.shape() != (self.w.nrows(), 1) {
            return Err(TrainError::BadShape {
                what: "dense layer bias",
                expected: format!("{}×1 (one per unit)", self.w.nrows()),
                found: format!("{}×{}", self.b.nrows(), self.b.ncols()),
            });
        }
        // Z = b 1ᵀ, written once (not zeroed first)
        let mut z = DMatrix::from_vec(
            self.w.nrows(),
            input.ncols(),
            self.b.as_slice().repeat(input.ncols()),
        );
        gemm_into(
            T::one(),
            &self.w,
            Trans::No,
            input,
            Trans::No,
            T::one(),
            &mut z,
        )?;
        Ok(z)
    }

    fn check_input(&self, input: &DMatrix<T>) -> Result<()> {
        if input.nrows() != self.w.ncols() {
            return Err(TrainError::BadShape {
                what: "dense layer input",
                expected: format!("{} rows (features per example)", self.w.ncols()),
                found: format!("{} rows", input.nrows()),
            });
        }
        Ok(())
    }
}

impl<T: Scalar> fmt::Display for Dense<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Dense({}→{}, {})",
            self.w.ncols(),
            self.w.nrows(),
            self.activation
        )
    }
}

impl<T: Scalar> Layer<T> for Dense<T> {
    fn input_shape(&self) -> FeatureShape {
        FeatureShape::Flat(self.w.ncols())
    }

    fn output_shape(&self) -> FeatureShape {
        FeatureShape::Flat(self.w.nrows())
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.activation)
    }

    fn forward(&mut self, input: &DMatrix<T>, _mode: Mode) -> Result<()> {
        self.check_input(input)?;
        let (units, m) = (self.w.nrows(), input.ncols());
        fit_buffer(&mut self.z, units, m);
        fit_buffer(&mut self.a, units, m);
        broadcast_column_into(&self.b, &mut self.z)?; // Z = b 1ᵀ
        gemm_into(
            T::one(),
            &self.w,
            Trans::No,
            input,
            Trans::No,
            T::one(),
            &mut self.z,
        )?; // Z += W A_prev
        self.activation.forward_into(&self.z, &mut self.a)?; // A = g(Z)
        Ok(())
    }

    fn output(&self) -> &DMatrix<T> {
        &self.a
    }

    fn pre_activation(&self) -> Option<&DMatrix<T>> {
        Some(&self.z)
    }

    fn backward(
        &mut self,
        input: &DMatrix<T>,
        upstream: Upstream<'_, T>,
        d_input: Option<&mut DMatrix<T>>,
    ) -> Result<()> {
        self.check_input(input)?;
        let m = input.ncols();
        if m == 0 {
            return Err(TrainError::EmptyData {
                what: "dense layer backward batch",
            });
        }
        let dz = upstream_pre_activation(
            "dense layer upstream gradient dZ",
            upstream,
            (self.activation, &self.z, &self.a),
            &mut self.dz,
        )?;
        let inv_m = T::one() / T::from_count(m);
        gemm_into(
            inv_m,
            dz,
            Trans::No,
            input,
            Trans::Yes,
            T::zero(),
            &mut self.dw,
        )?; // dW = (1/m) dZ A_prevᵀ
        mean_columns_into(dz, &mut self.db)?; // db = (1/m) Σ dZ
        if let Some(d_in) = d_input {
            fit_buffer(d_in, self.w.ncols(), m);
            gemm_into(
                T::one(),
                &self.w,
                Trans::Yes,
                dz,
                Trans::No,
                T::zero(),
                d_in,
            )?; // dA_prev = Wᵀ dZ
        }
        Ok(())
    }

    fn infer(&self, input: &DMatrix<T>) -> Result<DMatrix<T>> {
        // One buffer: Z, then A = g(Z) over it (fresh large buffers cost page faults).
        let mut z = self.logits(input)?;
        self.activation.forward_in_place(&mut z);
        Ok(z)
    }

    fn infer_full(&self, input: &DMatrix<T>) -> Result<(Option<DMatrix<T>>, DMatrix<T>)> {
        let z = self.logits(input)?;
        let a = self.activation.forward(&z);
        Ok((Some(z), a))
    }

    fn for_each_param(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        f(ParamMut {
            name: "weight",
            value: &mut self.w,
            grad: &mut self.dw,
            decays: true,
        });
        f(ParamMut {
            name: "bias",
            value: &mut self.b,
            grad: &mut self.db,
            decays: false,
        });
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'static str, &'a DMatrix<T>)) {
        f("weight", &self.w);
        f("bias", &self.b);
    }

    fn set_param(&mut self, name: &str, value: DMatrix<T>) -> Result<()> {
        set_weight_or_bias("dense layer", (&mut self.w, &mut self.b), name, value)
    }

    fn is_differentiable(&self) -> bool {
        self.activation.is_differentiable()
    }
}

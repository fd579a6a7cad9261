//! The fully connected layer: `Z = W A_prev + b`, `A = g(Z)`, and its backward.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use nalgebra::DMatrix;
use nn_init::Init;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::{
    self, PackedWeights, Scalar, Trans, all_finite, broadcast_column_into, fit_buffer, gemm_into,
    mean_columns_into,
};
use serde::{Deserialize, Serialize};

use super::layer::check_input_rows;
use super::layer::upstream_pre_activation;
use super::spec::{ParamSource, Place, weight_and_bias};
use crate::error::{Result, TrainError};
use crate::layers::LayerRecord;
use crate::layers::LayerSpec;
use crate::layers::lanes::{self, Lanes};
use crate::layers::{FeatureShape, Layer, LayerPlan, Mode, Param, Upstream};
use crate::limits::Limits;

/// The configuration of a [`Dense`] layer with `units` outputs, as model files store it:
/// `{"type": "dense", "units": 16, "activation": "tanh", "init": null}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DenseConfig {
    /// Number of units (outputs).
    pub units: usize,
    /// The activation `g`.
    pub activation: Activation,
    /// The weight initializer; `None` picks [`nn_init::recommended_for`]`(activation)`.
    #[serde(default)]
    pub init: Option<Init>,
}

impl fmt::Display for DenseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dense({}, {})", self.units, self.activation)
    }
}

impl DenseConfig {
    /// Works out the layer for inputs of `input` shape without building it; `index` names
    /// it in errors.
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] for an image input (add a flatten layer before
    /// it) or zero units or inputs; [`TrainError::TooLarge`] beyond `limits`.
    pub fn plan(&self, input: FeatureShape, index: usize, limits: &Limits) -> Result<LayerPlan> {
        let place = Place { index, what: self };
        let inputs = match input {
            FeatureShape::Flat(n) => n,
            FeatureShape::Image { .. } => {
                return Err(place.invalid(format!(
                    "a dense layer takes a flat vector, but its input is an image {input}; \
                     add a flatten layer before it"
                )));
            }
        };
        let units = self.units;
        if units == 0 || inputs == 0 {
            return Err(place.invalid(format!(
                "needs at least one unit and one input, found {units} units and {inputs} inputs"
            )));
        }
        place.per_example(limits, "output values per example", &[units])?;
        place.weighted(
            limits,
            FeatureShape::Flat(units),
            (units, inputs),
            vec![units, inputs],
        )
    }

    /// Builds the layer `plan` describes, with parameters from `source`.
    pub(crate) fn build<T: Scalar>(
        &self,
        plan: &LayerPlan,
        _input: FeatureShape,
        (index, seed): (usize, u64),
        source: ParamSource<'_, T>,
    ) -> Result<Dense<T>> {
        let (w, b) = weight_and_bias(
            plan,
            source,
            (index, seed),
            (self.init, self.activation),
            &|_, _| {},
        )?;
        let mut layer = Dense::from_parameters(w, b, self.activation)?;
        layer.init = self.init;
        Ok(layer)
    }
}

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
///
/// ```
/// use nalgebra::DMatrix;
/// use nn_train::{Activation, Dense, Layer, Mode};
/// let w = DMatrix::from_row_slice(1, 2, &[1.0, -1.0]);
/// let b = DMatrix::from_element(1, 1, 0.5);
/// let mut dense = Dense::from_parameters(w, b, Activation::Identity)?;
/// dense.forward(&DMatrix::from_column_slice(2, 1, &[3.0, 1.0]), Mode::Eval)?;
/// assert_eq!(dense.output().unwrap()[0], 2.5); // 3 − 1 + 0.5
/// assert_eq!(dense.params()[0].name(), "weight");
/// # Ok::<(), nn_train::TrainError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Dense<T: Scalar> {
    /// `[W, b]`.
    params: [Param<T>; 2],
    activation: Activation,
    /// The initializer recorded in model files (`None` when the weights were given).
    init: Option<Init>,
    /// `W` as nn-core's fused kernel reads it, made by the first prediction that uses it
    /// and dropped whenever the parameters are handed out mutably.
    packed: PackedWeights<T>,
    z: DMatrix<T>,
    a: DMatrix<T>,
    dz: DMatrix<T>,
}

/// `Z = W A_prev + b` into `z` (resized): the one place a dense layer computes it. A
/// buffer with no values yet is written once, from `b`; one that has them is refilled
/// with `b` (no allocation) before the GEMM accumulates `W A_prev` into it.
fn affine_into<T: Scalar>(
    w: &DMatrix<T>,
    b: &DMatrix<T>,
    input: &DMatrix<T>,
    z: &mut DMatrix<T>,
) -> Result<()> {
    let (units, m) = (w.nrows(), input.ncols());
    if z.is_empty() {
        *z = DMatrix::from_vec(units, m, b.as_slice().repeat(m)); // Z = b 1ᵀ
    } else {
        fit_buffer(z, units, m);
        broadcast_column_into(b, z)?; // Z = b 1ᵀ
    }
    gemm_into(T::one(), w, Trans::No, input, Trans::No, T::one(), z)?; // Z += W A_prev
    Ok(())
}

impl<T: Scalar> Dense<T> {
    /// `out ← g(W·input + b)` in one buffer, the activation applied to each block of
    /// columns as the product finishes it (`nn_core::affine_into`); with `vouch`, whether
    /// every entry of `Z` was finite before the activation (else `true`).
    fn infer_fused(&self, input: &DMatrix<T>, out: &mut DMatrix<T>, vouch: bool) -> Result<bool> {
        let units = self.units();
        fit_buffer(out, units, input.ncols());
        let (activation, finite) = (self.activation, AtomicBool::new(true));
        // The epilogue may run on two threads, on the two halves of the columns.
        let (w, b) = (self.weights(), self.bias());
        nn_core::affine_packed_into(w, &self.packed, b, input, out, &|block| {
            if vouch && !all_finite(block) {
                finite.store(false, Ordering::Relaxed);
            }
            activation.forward_columns_in_place(block, units);
        })?;
        Ok(finite.into_inner())
    }

    /// A layer with the given weights `W: (units, inputs)` and bias `b: (units, 1)`.
    ///
    /// # Errors
    /// [`TrainError::BadShape`] if `b` is not `rows(W) × 1` (with both shapes);
    /// [`TrainError::BadInput`] if `W` is empty; [`TrainError::NonFiniteData`] if a
    /// parameter is NaN or infinite.
    pub fn from_parameters(w: DMatrix<T>, b: DMatrix<T>, activation: Activation) -> Result<Self> {
        if w.is_empty() {
            return Err(TrainError::BadInput {
                what: "dense weights W",
                expected: "at least 1×1".into(),
                found: format!("{}×{}", w.nrows(), w.ncols()),
            });
        }
        if b.shape() != (w.nrows(), 1) {
            return Err(TrainError::BadShape {
                what: "dense bias b (one per unit, a row of W)",
                expected: (w.nrows(), 1),
                found: b.shape(),
            });
        }
        crate::check::finite("dense weights W", &w)?;
        crate::check::finite("dense bias b", &b)?;
        let (units, fan_in) = w.shape();
        // Always `[out, in]` in files, also with one input (where the default would be a
        // vector, as for a bias, and the loader, expecting `[out, 1]`, refused the file).
        let weight = Param::new("weight", w)
            .decayed()
            .with_file_shape(vec![units, fan_in])?;
        Ok(Self {
            params: [weight, Param::new("bias", b)],
            activation,
            init: None,
            packed: PackedWeights::new(),
            z: DMatrix::zeros(units, 0),
            a: DMatrix::zeros(units, 0),
            dz: DMatrix::zeros(units, 0),
        })
    }

    /// The weight matrix `W: (units, inputs)`.
    pub fn weights(&self) -> &DMatrix<T> {
        self.params[0].value()
    }

    /// The bias column `b: (units, 1)`.
    pub fn bias(&self) -> &DMatrix<T> {
        self.params[1].value()
    }

    /// The gradient `dW` of the last backward pass.
    pub fn weight_grad(&self) -> &DMatrix<T> {
        self.params[0].grad()
    }

    /// The gradient `db` of the last backward pass.
    pub fn bias_grad(&self) -> &DMatrix<T> {
        self.params[1].grad()
    }

    /// Number of units (rows of `W`).
    pub fn units(&self) -> usize {
        self.weights().nrows()
    }

    /// The layer's configuration (its initializer is `None` unless it was built from a
    /// [`DenseConfig`]).
    pub fn config(&self) -> DenseConfig {
        DenseConfig {
            units: self.units(),
            activation: self.activation,
            init: self.init,
        }
    }

    fn check_input(&self, input: &DMatrix<T>) -> Result<()> {
        // One row per feature (a column of W).
        check_input_rows("dense layer input", self.weights().ncols(), input)
    }

    /// `Z = W A_prev + b` into a new matrix (evaluation: nothing cached).
    fn logits(&self, input: &DMatrix<T>) -> Result<DMatrix<T>> {
        self.check_input(input)?;
        let mut z = DMatrix::zeros(0, 0);
        affine_into(self.weights(), self.bias(), input, &mut z)?;
        Ok(z)
    }
}

impl<T: Scalar> fmt::Display for Dense<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.weights();
        write!(f, "Dense({}→{}, {})", w.ncols(), w.nrows(), self.activation)
    }
}

impl<T: Scalar> Layer<T> for Dense<T> {
    fn input_shape(&self) -> FeatureShape {
        FeatureShape::Flat(self.weights().ncols())
    }

    fn output_shape(&self) -> FeatureShape {
        FeatureShape::Flat(self.units())
    }

    fn forward(&mut self, input: &DMatrix<T>, _mode: Mode) -> Result<()> {
        self.check_input(input)?;
        let [w, b] = &self.params;
        affine_into(w.value(), b.value(), input, &mut self.z)?;
        fit_buffer(&mut self.a, self.z.nrows(), self.z.ncols());
        self.activation.forward_into(&self.z, &mut self.a)?; // A = g(Z)
        Ok(())
    }

    fn output(&self) -> Option<&DMatrix<T>> {
        Some(&self.a)
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
        let [w, b] = &mut self.params;
        let (w, dw) = w.value_and_grad_mut();
        let inv_m = T::one() / T::from_count(m);
        gemm_into(inv_m, dz, Trans::No, input, Trans::Yes, T::zero(), dw)?; // dW = (1/m) dZ A_prevᵀ
        mean_columns_into(dz, b.value_and_grad_mut().1)?; // db = (1/m) Σ dZ
        if let Some(d_in) = d_input {
            fit_buffer(d_in, w.ncols(), m);
            gemm_into(T::one(), w, Trans::Yes, dz, Trans::No, T::zero(), d_in)?; // dA_prev = Wᵀ dZ
        }
        Ok(())
    }

    fn infer(&self, input: &DMatrix<T>) -> Result<DMatrix<T>> {
        let mut a = DMatrix::zeros(0, 0);
        self.infer_into(input, &mut a)?;
        Ok(a)
    }

    fn infer_into(&self, input: &DMatrix<T>, out: &mut DMatrix<T>) -> Result<()> {
        self.check_input(input)?;
        self.infer_fused(input, out, false)?;
        Ok(())
    }

    fn infer_into_vouching(&self, input: &DMatrix<T>, out: &mut DMatrix<T>) -> Result<bool> {
        if self.units() >= input.nrows() {
            // Z would be no smaller than the input: scanning the input is as cheap.
            self.infer_into(input, out)?;
            return Ok(false);
        }
        self.check_input(input)?;
        self.infer_fused(input, out, true)
    }

    fn infers_columnwise(&self, columns: usize) -> bool {
        nn_core::affine_is_columnwise::<T>(self.units(), columns, true)
    }

    fn infers_on_two_threads(&self, columns: usize) -> bool {
        nn_core::affine_cuts_itself::<T>(self.units(), self.weights().ncols(), columns, true)
    }

    fn infer_lanes(
        &self,
        input: &[Lanes<T>],
        output: &mut [Lanes<T>],
        _: &mut Vec<Lanes<T>>,
    ) -> bool {
        let parameters = (self.weights().as_slice(), self.bias().as_slice());
        lanes::dense(parameters, self.activation, input, output).is_ok()
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.activation)
    }

    fn pre_activation(&self) -> Option<&DMatrix<T>> {
        Some(&self.z)
    }

    fn infer_full(&self, input: &DMatrix<T>) -> Result<(Option<DMatrix<T>>, DMatrix<T>)> {
        let z = self.logits(input)?;
        let a = self.activation.forward(&z);
        Ok((Some(z), a))
    }

    fn params(&self) -> &[Param<T>] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [Param<T>] {
        self.packed.clear(); // W may change
        &mut self.params
    }

    fn is_differentiable(&self) -> bool {
        self.activation.is_differentiable()
    }

    fn record(&self) -> Option<LayerRecord> {
        Some(LayerRecord::Builtin(LayerSpec::Dense(self.config())))
    }
}

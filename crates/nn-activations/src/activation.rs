//! The [`Activation`] enum, declared once with its names (the table `Display`, `FromStr`
//! and serde read), its properties, and its forward and backward passes over whole
//! matrices, dispatched once per call (not once per entry). Each family of functions is a
//! module of its own in `activation/`.
//!
//! Adding an activation touches three files: its module here in `activation/` (the
//! scalar function and derivative, with their math and a doc example), this file (the
//! module line, the variant in the table, and its arm in each `match` below, which the
//! compiler asks for), and the tests (`tests/tests.rs`: its gradient check).

pub mod elu;
pub mod gelu;
pub mod identity;
pub mod relu;
pub mod sigmoid;
pub mod silu;
pub mod softmax;
pub mod softplus;
pub mod step;
pub mod tanh;

use nalgebra::DMatrix;
use nn_core::{Scalar, expect_shape, map_backward_into, map_into, relu_in_place, widest_simd};

use crate::ActivationError;
use crate::name::check_parameter;
use elu::{
    DEFAULT_ELU_ALPHA, elu, elu_slope, elu_slope_from_output, selu, selu_slope,
    selu_slope_from_output,
};
use gelu::{gelu, gelu_slope, gelu_tanh, gelu_tanh_slope};
use relu::{DEFAULT_LEAKY_SLOPE, leaky_relu, leaky_relu_slope, relu, relu_slope};
use sigmoid::{sigmoid, sigmoid_slope, sigmoid_slope_from_output};
use silu::{silu, silu_slope};
use softmax::{
    softmax_backward_columns, softmax_columns, softmax_columns_in_place, softmax_slice_in_place,
};
use softplus::{softplus, softplus_slope};
use step::step;
use tanh::{tanh, tanh_slope, tanh_slope_from_output};

crate::name::activation_table! {
    /// An activation function `g`, applied as `A = g(Z)` to a layer's pre-activations.
    ///
    /// `Copy`, and exhaustive so that code can `match` on it. Parameters are stored as
    /// `f64` and rounded to the element type when applied. This declaration is the one
    /// table of activations: each variant with its name and aliases, for `Display`,
    /// `FromStr` and serde, and a parameterised one with its parameter's default.
    ///
    /// `a = g(z)` is the output, `σ` the logistic sigmoid, `Φ`/`φ` the standard normal CDF
    /// and density. "Path" says what the backward reads to get `g'`: the input `z`, or the
    /// forward's output `a` where that saves work. "Init" is the weight variance the
    /// literature pairs with it ([`Activation::weight_scale`]).
    ///
    /// ```text
    /// name (Display)    g(z)                                 g'(z)                           path  init
    /// ────────────────  ───────────────────────────────────  ──────────────────────────────  ────  ──────
    /// identity          z                                    1                               —     Xavier
    /// step              1 if z ≥ 0, else 0                   0 (not trainable by backprop)   —     Xavier
    /// sigmoid           1 / (1 + e^(−z))                     a (1 − a)                       a     Xavier
    /// tanh              (e^z − e^(−z)) / (e^z + e^(−z))      1 − a²                          a     Xavier
    /// relu              max(0, z)                            1 if z ≥ 0, else 0              z     He(0)
    /// leaky_relu(s)     z if z ≥ 0, else s·z   (s = 0.01)    1 if z ≥ 0, else s              z     He(s)
    /// softmax           e^(z_i) / Σ_k e^(z_k)  (per column)  dz = a ∘ (da − ⟨a, da⟩) (VJP)   a     Xavier
    /// elu(α)            z if z ≥ 0, else α (e^z − 1) (α = 1) 1 if z ≥ 0, else a + α          z, a  He(0)
    /// selu              λ·elu(z; α₀)                         λ if z ≥ 0, else a + λα₀        z, a  LeCun
    /// gelu              z Φ(z)                               Φ(z) + z φ(z)                   z     He(0)
    /// gelu_tanh         ½ z (1 + tanh u),                    σ(2u) + 2z σ(2u) σ(−2u) u'(z)   z     He(0)
    ///                     u = √(2/π)(z + 0.044715 z³)
    /// silu              z σ(z)                               σ(z) (1 + z σ(−z))              z     He(0)
    /// softplus          ln(1 + e^z)                          σ(z)                            z     He(0)
    ///
    /// λ = 1.0507009873554805, α₀ = 1.6732632423543772 (Klambauer et al., 2017)
    /// ```
    ///
    /// For `elu` and `selu` the backward reads the sign of `z` and the value of `a`.
    /// Aliases accepted by `FromStr` ([`Activation::ALIASES`]): `linear` = `identity`,
    /// `swish` = `silu`.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Activation {
        /// `g(z) = z`, `g'(z) = 1` (alias `"linear"`). See [`crate::identity`].
        Identity => "identity" | "linear",
        /// Heaviside step `h(z) = 1` for `z ≥ 0`, else 0; `h'(z) = 0`: not trainable by
        /// backpropagation (use the perceptron rule). See [`crate::step`].
        Step => "step",
        /// `σ(z) = 1/(1 + e^(−z))`, `σ' = a(1 − a)` from the output. See
        /// [`crate::sigmoid`].
        Sigmoid => "sigmoid",
        /// `tanh(z)`, `tanh' = 1 − a²` from the output. See [`crate::tanh`].
        Tanh => "tanh",
        /// `max(0, z)`, derivative 1 for `z ≥ 0` (including 0), else 0. See
        /// [`crate::relu`].
        Relu => "relu",
        /// `z` for `z ≥ 0`, `slope·z` below; derivative 1 or `slope`. See [`crate::relu`].
        LeakyRelu {
            /// Negative-side slope, finite and `≥ 0`; [`Activation::leaky_relu`] gives
            /// 0.01.
            slope: f64 = DEFAULT_LEAKY_SLOPE,
        } => "leaky_relu",
        /// Column-wise `e^(z_i) / Σ_k e^(z_k)`; backward is a per-column vector–Jacobian
        /// product. See [`crate::softmax`].
        Softmax => "softmax",
        /// `z` for `z ≥ 0`, `α(e^z − 1)` below; derivative 1 or `a + α`. See
        /// [`crate::elu`].
        Elu {
            /// Negative-side scale, finite and `≥ 0`; [`Activation::elu`] gives 1.
            alpha: f64 = DEFAULT_ELU_ALPHA,
        } => "elu",
        /// `λ·elu(z; α₀)` with the self-normalising constants. See [`crate::elu`].
        Selu => "selu",
        /// `z Φ(z)` (exact, through `erfc`). See [`crate::gelu`].
        Gelu => "gelu",
        /// `½ z (1 + tanh(√(2/π)(z + 0.044715 z³)))`. See [`crate::gelu`].
        GeluTanh => "gelu_tanh",
        /// `z σ(z)` (alias `"swish"`). See [`crate::silu`].
        Silu => "silu" | "swish",
        /// `ln(1 + e^z)`, derivative `σ(z)`. See [`crate::softplus`].
        Softplus => "softplus",
    }
}

/// The variance of a layer's initial weights that keeps the signal's scale through an
/// activation, as the literature pairs them ([`Activation::weight_scale`]);
/// `nn_init::recommended_for` turns it into an initializer. With `n_in` the layer's
/// inputs:
///
/// | scale | `Var(W)` | why |
/// |---|---|---|
/// | `Xavier` | `1/n_in` | near-linear around 0: keeping `Var(z)` needs `n_in·Var(W) = 1` (Glorot & Bengio 2010, the tutorial's form) |
/// | `He { slope }` | `2/((1 + slope²) n_in)` | ReLU keeps half of the second moment, a leaky ReLU `(1 + slope²)/2` of it (He et al. 2015); the common practice for ReLU-like units (Clevert et al. 2016 for ELU) |
/// | `Lecun` | `1/n_in` | the self-normalising fixed point of SELU assumes it (Klambauer et al. 2017) |
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightScale {
    /// `Var(W) = 1/n_in` (Xavier, the tutorial's first form).
    Xavier,
    /// `Var(W) = 2/((1 + slope²) n_in)` (He/Kaiming).
    He {
        /// The negative-side slope of a leaky ReLU (0 for ReLU and ReLU-like units).
        slope: f64,
    },
    /// `Var(W) = 1/n_in` (LeCun), the fixed point of SELU.
    Lecun,
}

/// `z ← f(z)` element by element.
#[inline]
fn map_in_place<T: Scalar>(z: &mut [T], f: impl Fn(T) -> T) {
    widest_simd(
        #[inline(always)]
        || {
            for v in z {
                *v = f(*v);
            }
        },
    );
}

/// Evaluates `$id` for the identity, `$soft` for softmax, and otherwise `$body` with `$f`
/// bound to the element-wise function of the activation, so that each loop is specialised
/// to one function and vectorises (a `match` inside the loop does not).
macro_rules! dispatch {
    ($act:expr, identity => $id:expr, softmax => $soft:expr, $f:ident => $body:expr) => {{
        match *$act {
            Activation::Identity => $id,
            Activation::Softmax => $soft,
            Activation::Step => {
                let $f = step;
                $body
            }
            Activation::Sigmoid => {
                let $f = sigmoid;
                $body
            }
            Activation::Tanh => {
                let $f = tanh;
                $body
            }
            Activation::Relu => {
                let $f = relu;
                $body
            }
            Activation::LeakyRelu { slope } => {
                let s = T::cast(slope);
                let $f = move |x| leaky_relu(x, s);
                $body
            }
            Activation::Elu { alpha } => {
                let al = T::cast(alpha);
                let $f = move |x| elu(x, al);
                $body
            }
            Activation::Selu => {
                let $f = selu;
                $body
            }
            Activation::Gelu => {
                let $f = gelu;
                $body
            }
            Activation::GeluTanh => {
                let $f = gelu_tanh;
                $body
            }
            Activation::Silu => {
                let $f = silu;
                $body
            }
            Activation::Softplus => {
                let $f = softplus;
                $body
            }
        }
    }};
}

/// `dz ← da ∘ f(z, a)` element by element (shapes already checked).
#[inline]
fn scale2_into<T: Scalar>(
    z: &DMatrix<T>,
    a: &DMatrix<T>,
    da: &DMatrix<T>,
    dz: &mut DMatrix<T>,
    f: impl Fn(T, T) -> T,
) {
    let triples = z.as_slice().iter().zip(a.as_slice()).zip(da.as_slice());
    widest_simd(
        #[inline(always)]
        || {
            for (o, ((&x, &y), &d)) in dz.as_mut_slice().iter_mut().zip(triples) {
                *o = d * f(x, y);
            }
        },
    );
}

impl Activation {
    /// Leaky ReLU with the default slope 0.01.
    pub const fn leaky_relu() -> Self {
        Activation::LeakyRelu {
            slope: DEFAULT_LEAKY_SLOPE,
        }
    }

    /// ELU with the default `α = 1`.
    pub const fn elu() -> Self {
        Activation::Elu {
            alpha: DEFAULT_ELU_ALPHA,
        }
    }

    /// Leaky ReLU with a given slope.
    ///
    /// # Errors
    /// [`ActivationError::BadParameter`] unless `slope` is finite and `≥ 0`.
    pub fn leaky_relu_with_slope(slope: f64) -> Result<Self, ActivationError> {
        let g = Activation::LeakyRelu { slope };
        g.validate()?;
        Ok(g)
    }

    /// ELU with a given `α`.
    ///
    /// # Errors
    /// [`ActivationError::BadParameter`] unless `alpha` is finite and `≥ 0`.
    pub fn elu_with_alpha(alpha: f64) -> Result<Self, ActivationError> {
        let g = Activation::Elu { alpha };
        g.validate()?;
        Ok(g)
    }

    /// Checks the parameter ([`Activation::parameter`]): a leaky-ReLU slope and an ELU
    /// `α` must be finite and `≥ 0`. (The fields are public, so a value built directly is
    /// not checked until this is called; `FromStr` and the `*_with_*` constructors always
    /// check.)
    ///
    /// # Errors
    /// [`ActivationError::BadParameter`] naming the parameter and its value.
    pub fn validate(&self) -> Result<(), ActivationError> {
        match self.parameter() {
            None => Ok(()),
            Some((parameter, value)) => {
                check_parameter(self.name(), parameter, value, || value.to_string()).map(|_| ())
            }
        }
    }

    /// `false` only for [`Activation::Softmax`], whose outputs each depend on a whole
    /// column.
    pub const fn is_elementwise(&self) -> bool {
        match self {
            Activation::Softmax => false,
            Activation::Identity
            | Activation::Step
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Relu
            | Activation::LeakyRelu { .. }
            | Activation::Elu { .. }
            | Activation::Selu
            | Activation::Gelu
            | Activation::GeluTanh
            | Activation::Silu
            | Activation::Softplus => true,
        }
    }

    /// `false` only for [`Activation::Step`]: its derivative is 0 everywhere, so
    /// backpropagation cannot train a step unit (the perceptron rule can). The ReLU family
    /// counts as differentiable: its one kink has a conventional derivative.
    pub const fn is_differentiable(&self) -> bool {
        match self {
            Activation::Step => false,
            Activation::Identity
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Relu
            | Activation::LeakyRelu { .. }
            | Activation::Softmax
            | Activation::Elu { .. }
            | Activation::Selu
            | Activation::Gelu
            | Activation::GeluTanh
            | Activation::Silu
            | Activation::Softplus => true,
        }
    }

    /// `true` if the backward reads the forward's output `a` to get the derivative
    /// cheaply: sigmoid (`a(1 − a)`), tanh (`1 − a²`), ELU and SELU (`a + α`, `a + λα₀`
    /// for `z < 0`) and softmax (`a ∘ (da − ⟨a, da⟩)`). The others compute it from `z`
    /// (identity and step need neither). ReLU could read `a` too but then could not give
    /// the derivative 1 at `z = 0` that the convention asks for.
    pub const fn derivative_from_output(&self) -> bool {
        match self {
            Activation::Sigmoid
            | Activation::Tanh
            | Activation::Elu { .. }
            | Activation::Selu
            | Activation::Softmax => true,
            Activation::Identity
            | Activation::Step
            | Activation::Relu
            | Activation::LeakyRelu { .. }
            | Activation::Gelu
            | Activation::GeluTanh
            | Activation::Silu
            | Activation::Softplus => false,
        }
    }

    /// The weight variance the literature pairs with this activation (the "init" column
    /// of the table on [`Activation`]; see [`WeightScale`] for the reasons).
    ///
    /// ```
    /// use nn_activations::{Activation, WeightScale};
    /// assert_eq!(Activation::Tanh.weight_scale(), WeightScale::Xavier);
    /// assert_eq!(Activation::Relu.weight_scale(), WeightScale::He { slope: 0.0 });
    /// assert_eq!(
    ///     Activation::LeakyRelu { slope: 0.1 }.weight_scale(),
    ///     WeightScale::He { slope: 0.1 }
    /// );
    /// assert_eq!(Activation::Selu.weight_scale(), WeightScale::Lecun);
    /// ```
    pub const fn weight_scale(&self) -> WeightScale {
        match *self {
            Activation::Identity
            | Activation::Step
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Softmax => WeightScale::Xavier,
            Activation::LeakyRelu { slope } => WeightScale::He { slope },
            Activation::Relu
            | Activation::Elu { .. }
            | Activation::Gelu
            | Activation::GeluTanh
            | Activation::Silu
            | Activation::Softplus => WeightScale::He { slope: 0.0 },
            Activation::Selu => WeightScale::Lecun,
        }
    }

    /// `g(z)` for one scalar. For [`Activation::Softmax`] this is the softmax of a
    /// single-row column, which is 1.
    pub fn value<T: Scalar>(&self, z: T) -> T {
        match *self {
            Activation::Identity => z,
            Activation::Step => step(z),
            Activation::Sigmoid => sigmoid(z),
            Activation::Tanh => tanh(z),
            Activation::Relu => relu(z),
            Activation::LeakyRelu { slope } => leaky_relu(z, T::cast(slope)),
            Activation::Softmax => T::one(),
            Activation::Elu { alpha } => elu(z, T::cast(alpha)),
            Activation::Selu => selu(z),
            Activation::Gelu => gelu(z),
            Activation::GeluTanh => gelu_tanh(z),
            Activation::Silu => silu(z),
            Activation::Softplus => softplus(z),
        }
    }

    /// `g'(z)` for one scalar, always computed from `z`. For [`Activation::Softmax`] it is
    /// 0 (the derivative of the single-row softmax, a constant); use
    /// [`Activation::backward`] for the real thing.
    pub fn slope<T: Scalar>(&self, z: T) -> T {
        match *self {
            Activation::Identity => T::one(),
            Activation::Step | Activation::Softmax => T::zero(),
            Activation::Sigmoid => sigmoid_slope(z),
            Activation::Tanh => tanh_slope(z),
            Activation::Relu => relu_slope(z),
            Activation::LeakyRelu { slope } => leaky_relu_slope(z, T::cast(slope)),
            Activation::Elu { alpha } => elu_slope(z, T::cast(alpha)),
            Activation::Selu => selu_slope(z),
            Activation::Gelu => gelu_slope(z),
            Activation::GeluTanh => gelu_tanh_slope(z),
            Activation::Silu => silu_slope(z),
            Activation::Softplus => softplus_slope(z),
        }
    }

    /// `A = g(Z)` into a new matrix (allocates): a copy of `z` put through
    /// [`Activation::forward_in_place`]. See [`Activation::forward_into`].
    pub fn forward<T: Scalar>(&self, z: &DMatrix<T>) -> DMatrix<T> {
        let mut a = z.clone();
        self.forward_in_place(&mut a);
        a
    }

    /// `a ← g(z)`, written into the caller's buffer `a`; allocates nothing.
    ///
    /// Element-wise for every activation but softmax, which normalises each column
    /// (subtracting the column maximum first).
    ///
    /// # Errors
    /// [`ActivationError::Core`] (`ShapeMismatch`) if `a` is not the shape of `z`.
    pub fn forward_into<T: Scalar>(
        &self,
        z: &DMatrix<T>,
        a: &mut DMatrix<T>,
    ) -> Result<(), ActivationError> {
        expect_shape("Activation::forward_into", "output a", z.shape(), a.shape())?;
        dispatch!(
            self,
            identity => a.copy_from(z),
            softmax => softmax_columns(z, a),
            f => map_into(z, a, f)?
        );
        Ok(())
    }

    /// `z ← g(z)` in place: the forward pass without a second buffer, for inference,
    /// where the pre-activation is not needed afterwards. Allocates nothing.
    pub fn forward_in_place<T: Scalar>(&self, z: &mut DMatrix<T>) {
        if *self == Activation::Relu {
            // Not through the element-wise map: see `nn_core::relu_in_place`.
            return relu_in_place(z.as_mut_slice());
        }
        dispatch!(
            self,
            identity => {},
            softmax => softmax_columns_in_place(z),
            f => map_in_place(z.as_mut_slice(), f)
        );
    }

    /// `z ← g(z)` in place on whole columns of `rows` values each, stored one after the
    /// other (a block of columns of a column-major matrix): what
    /// [`Activation::forward_in_place`] does to a matrix, given its storage. A trailing
    /// partial column is left as it is. This is the epilogue a dense layer's inference
    /// hands to `nn_core::affine_into`.
    ///
    /// ```
    /// use nn_activations::Activation;
    /// let mut z = [1.0f64, 1.0, 0.0, 2.0_f64.ln()];
    /// Activation::Softmax.forward_columns_in_place(&mut z, 2);
    /// let expected = [0.5, 0.5, 1.0 / 3.0, 2.0 / 3.0];
    /// assert!(z.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-15));
    /// ```
    pub fn forward_columns_in_place<T: Scalar>(&self, z: &mut [T], rows: usize) {
        let whole = z.len() - z.len() % rows.max(1);
        let z = &mut z[..whole];
        if *self == Activation::Relu {
            return relu_in_place(z);
        }
        dispatch!(
            self,
            identity => {},
            softmax => softmax_slice_in_place(z, rows),
            f => map_in_place(z, f)
        );
    }

    /// The backward pass into a new matrix (allocates). See [`Activation::backward_into`].
    ///
    /// # Errors
    /// As [`Activation::backward_into`].
    pub fn backward<T: Scalar>(
        &self,
        z: &DMatrix<T>,
        a: &DMatrix<T>,
        da: &DMatrix<T>,
    ) -> Result<DMatrix<T>, ActivationError> {
        let mut dz = DMatrix::zeros(z.nrows(), z.ncols());
        self.backward_into(z, a, da, &mut dz)?;
        Ok(dz)
    }

    /// `dz ←` the vector–Jacobian product of `A = g(Z)` with the upstream gradient `da`;
    /// allocates nothing.
    ///
    /// Element-wise activations: `dZ = dA ∘ g'(Z)`, with `g'` computed from the output
    /// `a` where that is cheaper (see [`Activation::derivative_from_output`]) and from
    /// `z` otherwise. Softmax: per column `dz = a ∘ (da − ⟨a, da⟩)`, the Jacobian never
    /// materialised.
    ///
    /// `z` and `a` must be the input and output of the same forward pass: the result is
    /// not checked against them and is wrong if they disagree.
    ///
    /// # Errors
    /// [`ActivationError::Core`] (`ShapeMismatch`) if `a`, `da` or `dz` is not the shape
    /// of `z`.
    pub fn backward_into<T: Scalar>(
        &self,
        z: &DMatrix<T>,
        a: &DMatrix<T>,
        da: &DMatrix<T>,
        dz: &mut DMatrix<T>,
    ) -> Result<(), ActivationError> {
        const OP: &str = "Activation::backward_into";
        expect_shape(OP, "forward output a", z.shape(), a.shape())?;
        expect_shape(OP, "upstream gradient da", z.shape(), da.shape())?;
        expect_shape(OP, "output dz", z.shape(), dz.shape())?;
        match *self {
            Activation::Identity => dz.copy_from(da),
            Activation::Step => dz.fill(T::zero()),
            Activation::Sigmoid => map_backward_into(a, da, dz, sigmoid_slope_from_output)?,
            Activation::Tanh => map_backward_into(a, da, dz, tanh_slope_from_output)?,
            Activation::Relu => map_backward_into(z, da, dz, relu_slope)?,
            Activation::LeakyRelu { slope } => {
                let s = T::cast(slope);
                map_backward_into(z, da, dz, |x| leaky_relu_slope(x, s))?;
            }
            Activation::Softmax => softmax_backward_columns(a, da, dz),
            Activation::Elu { alpha } => {
                let al = T::cast(alpha);
                scale2_into(z, a, da, dz, |x, y| elu_slope_from_output(x, y, al));
            }
            Activation::Selu => scale2_into(z, a, da, dz, selu_slope_from_output),
            Activation::Gelu => map_backward_into(z, da, dz, gelu_slope)?,
            Activation::GeluTanh => map_backward_into(z, da, dz, gelu_tanh_slope)?,
            Activation::Silu => map_backward_into(z, da, dz, silu_slope)?,
            Activation::Softplus => map_backward_into(z, da, dz, softplus_slope)?,
        }
        Ok(())
    }

    /// The element-wise derivative `g'(Z)` as a new matrix (allocates), computed from `z`
    /// (for plots and saturation measurements; a backward pass should use
    /// [`Activation::backward_into`]).
    ///
    /// # Errors
    /// [`ActivationError::NotElementwise`] for [`Activation::Softmax`], whose derivative
    /// is a Jacobian per column, not a matrix of the shape of `z`.
    pub fn derivative<T: Scalar>(&self, z: &DMatrix<T>) -> Result<DMatrix<T>, ActivationError> {
        let mut out = DMatrix::zeros(z.nrows(), z.ncols());
        self.derivative_into(z, &mut out)?;
        Ok(out)
    }

    /// `out ← g'(z)` element by element; allocates nothing. See
    /// [`Activation::derivative`].
    ///
    /// # Errors
    /// [`ActivationError::NotElementwise`] for softmax; [`ActivationError::Core`]
    /// (`ShapeMismatch`) if `out` is not the shape of `z`.
    pub fn derivative_into<T: Scalar>(
        &self,
        z: &DMatrix<T>,
        out: &mut DMatrix<T>,
    ) -> Result<(), ActivationError> {
        if !self.is_elementwise() {
            return Err(ActivationError::NotElementwise {
                activation: self.name(),
                what: "its derivative is a Jacobian per column; use backward for the \
                       vector–Jacobian product",
            });
        }
        expect_shape(
            "Activation::derivative_into",
            "output",
            z.shape(),
            out.shape(),
        )?;
        let g = *self;
        map_into(z, out, |x| g.slope(x))?;
        Ok(())
    }
}

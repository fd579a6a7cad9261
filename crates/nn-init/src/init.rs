//! [`Init`]: the initializer as a value — its parameters, validation, the matrices it
//! builds, the variance it targets, and its text form (`"he_normal(0)"`).

use nalgebra::DMatrix;
use nn_activations::nn_core::Scalar;

use crate::constant::constant;
use crate::distribution::{normal, uniform};
use crate::orthogonal::orthogonal;
use crate::scaled::{
    fan_in_variance, glorot_variance, he_variance, normal_with_variance, uniform_with_variance,
};
use crate::{InitError, SeededRng};

crate::name::init_table! {
    /// How to fill a layer's weight matrix `W` of shape `(fan_out, fan_in)` and its bias.
    ///
    /// `fan_in` is `n_{l−1}` (inputs to the layer), `fan_out` is `n_l` (its units). The
    /// variance each one targets is in the crate docs' table and in
    /// [`Init::target_variance`].
    ///
    /// Its text form (`Display`/`FromStr`) round-trips exactly: `zeros`, `constant(c)`,
    /// `uniform(low,high)`, `normal(mean,std)`, `xavier_normal`, `glorot_normal`,
    /// `glorot_uniform`, `he_normal(slope)`, `he_uniform(slope)`, `lecun_normal`,
    /// `orthogonal(gain)`. When parsing, `he_normal`/`he_uniform` without a slope mean slope
    /// 0, and `orthogonal` without a gain means gain 1. The serialised form (serde) is the
    /// same string. This declaration is the one table of names, parameters and defaults
    /// those forms are made from (see `name.rs`).
    ///
    /// ```
    /// use nn_init::{Init, SeededRng};
    /// let init: Init = "he_normal(0)".parse()?;
    /// assert_eq!(init, Init::HeNormal { slope: 0.0 });
    /// assert_eq!(init.to_string(), "he_normal(0)");
    /// assert_eq!(init.target_variance(64, 128), Some(2.0 / 128.0));
    ///
    /// let mut rng = SeededRng::stream(7, 0);
    /// let w = init.weights::<f64>(64, 128, &mut rng)?;
    /// assert_eq!(w.shape(), (64, 128));
    /// # Ok::<(), nn_init::InitError>(())
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Init {
        /// Every entry 0. `Var = 0`. For biases; for weights it leaves all units identical.
        Zeros => "zeros",
        /// Every entry `c`. `Var = 0`. Same caveat as [`Init::Zeros`].
        Constant(c) => "constant",
        /// Uniform on `[low, high)`. `Var = (high − low)²/12`, mean `(low + high)/2`.
        Uniform {
            /// Lower end (included). Finite.
            low,
            /// Upper end (excluded). Finite, `> low`.
            high,
        } => "uniform",
        /// Normal with the given mean and standard deviation. `Var = std²`.
        Normal {
            /// The mean. Finite.
            mean,
            /// The standard deviation. Finite, `≥ 0`.
            std,
        } => "normal",
        /// Xavier, the tutorial's first form: `N(0, 1/fan_in)`. For tanh, sigmoid,
        /// identity.
        XavierNormal => "xavier_normal",
        /// Glorot, the tutorial's second form: `N(0, 2/(fan_in + fan_out))`.
        GlorotNormal => "glorot_normal",
        /// Glorot uniform: `U(−r, r)`, `r = √(6/(fan_in + fan_out))`, so
        /// `Var = 2/(fan_in + fan_out)`.
        GlorotUniform => "glorot_uniform",
        /// He/Kaiming normal: `N(0, 2/((1 + α²) fan_in))`, `α` the leaky-ReLU slope (0 for
        /// ReLU).
        HeNormal {
            /// The leaky-ReLU slope `α` of the activation that follows (0 for ReLU).
            /// Finite.
            slope,
        } => "he_normal" (default: 0.0),
        /// He/Kaiming uniform: `U(−r, r)`, `r = √(6/((1 + α²) fan_in))`, so
        /// `Var = 2/((1 + α²) fan_in)`.
        HeUniform {
            /// The leaky-ReLU slope `α` (0 for ReLU). Finite.
            slope,
        } => "he_uniform" (default: 0.0),
        /// LeCun normal: `N(0, 1/fan_in)`, the fixed point SELU's constants assume.
        LecunNormal => "lecun_normal",
        /// A random matrix with orthonormal rows or columns, times `gain`.
        /// `Var = gain²/max(fan_in, fan_out)`; every singular value is `gain`.
        Orthogonal {
            /// The scale of the orthonormal matrix. Finite.
            gain,
        } => "orthogonal" (default: 1.0),
    }
}

/// `InvalidArgument` unless `x` is finite.
fn finite(init: &'static str, what: &'static str, x: f64) -> Result<(), InitError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(InitError::InvalidArgument {
            init,
            what,
            expected: "finite".into(),
            found: x,
        })
    }
}

impl Init {
    /// Checks the parameters: finite everywhere, `std ≥ 0`, `low < high`.
    ///
    /// # Errors
    /// [`InitError::InvalidArgument`] naming the parameter, its valid range and its value.
    pub fn validate(&self) -> Result<(), InitError> {
        let name = self.name();
        match *self {
            Init::Zeros
            | Init::XavierNormal
            | Init::GlorotNormal
            | Init::GlorotUniform
            | Init::LecunNormal => Ok(()),
            Init::Constant(c) => finite(name, "c", c),
            Init::Uniform { low, high } => {
                finite(name, "low", low)?;
                finite(name, "high", high)?;
                if low < high {
                    Ok(())
                } else {
                    Err(InitError::InvalidArgument {
                        init: name,
                        what: "high",
                        expected: format!("greater than low = {low}"),
                        found: high,
                    })
                }
            }
            Init::Normal { mean, std } => {
                finite(name, "mean", mean)?;
                if std.is_finite() && std >= 0.0 {
                    Ok(())
                } else {
                    Err(InitError::InvalidArgument {
                        init: name,
                        what: "std",
                        expected: "finite and ≥ 0".into(),
                        found: std,
                    })
                }
            }
            Init::HeNormal { slope } | Init::HeUniform { slope } => finite(name, "slope", slope),
            Init::Orthogonal { gain } => finite(name, "gain", gain),
        }
    }

    /// A weight matrix of shape `(fan_out, fan_in)` (allocates).
    ///
    /// Random entries are drawn from `rng` in column-major order, in `f64`, then rounded to
    /// `T`; give each layer its own stream ([`SeededRng::stream`]) so that changing one
    /// layer's size does not change the others' weights. [`Init::Zeros`] and
    /// [`Init::Constant`] consume no randomness.
    ///
    /// # Errors
    /// [`InitError::ZeroSize`] if a fan is 0; [`InitError::TooLarge`] if the matrix's size
    /// in bytes overflows `isize` (nothing is allocated); [`InitError::InvalidArgument`]
    /// for a bad parameter (see [`Init::validate`]).
    pub fn weights<T: Scalar>(
        &self,
        fan_out: usize,
        fan_in: usize,
        rng: &mut SeededRng,
    ) -> Result<DMatrix<T>, InitError> {
        let shape = (fan_out, fan_in);
        for (what, n) in [("fan_out", fan_out), ("fan_in", fan_in)] {
            if n == 0 {
                return Err(InitError::ZeroSize {
                    init: self.name(),
                    what,
                    shape,
                });
            }
        }
        self.validate()?;
        self.check_size::<T>(shape)?;
        let (r, c) = shape;
        Ok(match *self {
            Init::Zeros => constant(0.0, r, c),
            Init::Constant(v) => constant(v, r, c),
            Init::Uniform { low, high } => uniform(low, high, r, c, rng),
            Init::Normal { mean, std } => normal(mean, std, r, c, rng),
            Init::XavierNormal | Init::LecunNormal => {
                normal_with_variance(fan_in_variance(fan_in), r, c, rng)
            }
            Init::GlorotNormal => normal_with_variance(glorot_variance(fan_out, fan_in), r, c, rng),
            Init::GlorotUniform => {
                uniform_with_variance(glorot_variance(fan_out, fan_in), r, c, rng)
            }
            Init::HeNormal { slope } => normal_with_variance(he_variance(fan_in, slope), r, c, rng),
            Init::HeUniform { slope } => {
                uniform_with_variance(he_variance(fan_in, slope), r, c, rng)
            }
            Init::Orthogonal { gain } => orthogonal(gain, r, c, rng),
        })
    }

    /// Fails if a `rows × cols` matrix of `T` cannot be addressed (its byte size
    /// overflows `isize`), before anything is allocated.
    fn check_size<T: Scalar>(&self, (rows, cols): (usize, usize)) -> Result<(), InitError> {
        let bytes_per_entry = std::mem::size_of::<T>();
        rows.checked_mul(cols)
            .and_then(|n| n.checked_mul(bytes_per_entry))
            .filter(|&b| isize::try_from(b).is_ok())
            .map(|_| ())
            .ok_or(InitError::TooLarge {
                init: self.name(),
                shape: (rows, cols),
                bytes_per_entry,
            })
    }

    /// A bias column of shape `(n, 1)` (allocates).
    ///
    /// [`Init::Zeros`], [`Init::Constant`], [`Init::Uniform`] and [`Init::Normal`] fill it
    /// as they fill weights. The fan-based initializers (Xavier, Glorot, He, LeCun,
    /// orthogonal) give **zeros**, the usual choice: biases are added, not multiplied, so
    /// zero biases do not keep units alike once the weights are random, and they leave the
    /// variance argument of those initializers untouched. Those consume no randomness.
    ///
    /// # Errors
    /// [`InitError::ZeroSize`] if `n = 0`; [`InitError::TooLarge`] if `n` entries of `T`
    /// overflow `isize` bytes; [`InitError::InvalidArgument`] for a bad parameter.
    pub fn bias<T: Scalar>(&self, n: usize, rng: &mut SeededRng) -> Result<DMatrix<T>, InitError> {
        if n == 0 {
            return Err(InitError::ZeroSize {
                init: self.name(),
                what: "bias length",
                shape: (n, 1),
            });
        }
        self.validate()?;
        self.check_size::<T>((n, 1))?;
        Ok(match *self {
            Init::Constant(v) => constant(v, n, 1),
            Init::Uniform { low, high } => uniform(low, high, n, 1, rng),
            Init::Normal { mean, std } => normal(mean, std, n, 1, rng),
            Init::Zeros
            | Init::XavierNormal
            | Init::GlorotNormal
            | Init::GlorotUniform
            | Init::HeNormal { .. }
            | Init::HeUniform { .. }
            | Init::LecunNormal
            | Init::Orthogonal { .. } => constant(0.0, n, 1),
        })
    }

    /// The variance of each weight's distribution for a `(fan_out, fan_in)` layer, by the
    /// formulas in the crate docs' table; `None` if a fan is 0 or a parameter is invalid.
    pub fn target_variance(&self, fan_out: usize, fan_in: usize) -> Option<f64> {
        if fan_out == 0 || fan_in == 0 || self.validate().is_err() {
            return None;
        }
        Some(match *self {
            Init::Zeros | Init::Constant(_) => 0.0,
            Init::Uniform { low, high } => (high - low) * (high - low) / 12.0,
            Init::Normal { std, .. } => std * std,
            Init::XavierNormal | Init::LecunNormal => fan_in_variance(fan_in),
            Init::GlorotNormal | Init::GlorotUniform => glorot_variance(fan_out, fan_in),
            Init::HeNormal { slope } | Init::HeUniform { slope } => he_variance(fan_in, slope),
            Init::Orthogonal { gain } => gain * gain / fan_in.max(fan_out) as f64,
        })
    }

    /// The mean of each weight's distribution: `c` for a constant, `(low + high)/2`,
    /// `mean`, and 0 for every fan-based initializer; `None` for invalid parameters.
    pub fn target_mean(&self) -> Option<f64> {
        if self.validate().is_err() {
            return None;
        }
        Some(match *self {
            Init::Constant(c) => c,
            Init::Uniform { low, high } => 0.5 * (low + high),
            Init::Normal { mean, .. } => mean,
            Init::Zeros
            | Init::XavierNormal
            | Init::GlorotNormal
            | Init::GlorotUniform
            | Init::HeNormal { .. }
            | Init::HeUniform { .. }
            | Init::LecunNormal
            | Init::Orthogonal { .. } => 0.0,
        })
    }
}

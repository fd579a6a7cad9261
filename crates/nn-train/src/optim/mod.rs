//! Optimizers: how a gradient becomes a parameter update, with their state.
//!
//! [`Optimizer`] is the configuration: one variant per update rule, each holding that
//! rule's own struct ([`Sgd`], [`Momentum`], [`Nesterov`], [`RmsProp`], [`Adam`],
//! [`AdamW`]: plain data, with documented defaults). The rule's file in `optim/` holds
//! everything about it: the formula and its kernel, the state tensors it keeps, its name,
//! its checks and its JSON form (serde: the struct's fields with `"name"` beside them, as
//! checkpoints store it). Every kernel takes the same hyper-parameter struct, so the
//! training step has one call for all of them. [`OptimizerState`] holds the per-parameter
//! state and the step count, allocated at the first step and reused after. Formulas
//! follow PyTorch's, so that the same hyperparameters give the same updates.
//!
//! [`Schedule`] scales the base learning rate per epoch.

mod adam;
mod adamw;
mod momentum;
mod nesterov;
mod rmsprop;
mod schedule;
mod sgd;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{self, Scalar, all_finite, sum_squares};
use serde::{Deserialize, Serialize};

pub use adam::Adam;
pub use adamw::AdamW;
pub use momentum::Momentum;
pub use nesterov::Nesterov;
pub use rmsprop::RmsProp;
pub use schedule::{PlateauState, Schedule};
pub use sgd::Sgd;

use crate::error::{Result, TrainError};
use crate::layers::ParamMut;
use crate::network::Network;

/// The hyper-parameters of one update, the one struct every optimizer's kernel
/// ([`Rule::update`]) takes; each rule reads the fields it uses and leaves the others at 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hyper {
    /// `η` of this step: the base rate times the schedule's factor and the warm-up's.
    pub lr: f64,
    /// Decay of the first moment: the momentum `β`, Adam's `β₁`.
    pub beta1: f64,
    /// Decay of the second moment: RMSProp's `ρ`, Adam's `β₂`.
    pub beta2: f64,
    /// `ε` added to the root of the second moment.
    pub eps: f64,
    /// Decoupled weight decay `λ` of this parameter (AdamW's weights; 0 otherwise).
    pub weight_decay: f64,
    /// The update's number, from 1 (Adam's bias correction).
    pub t: u64,
}

impl Hyper {
    /// Learning rate `lr` at update `t`, every other field 0.
    pub(crate) fn new(lr: f64, t: u64) -> Self {
        Self {
            lr,
            beta1: 0.0,
            beta2: 0.0,
            eps: 0.0,
            weight_decay: 0.0,
            t,
        }
    }
}

/// Everything an optimizer's file knows, implemented by its configuration struct: its
/// name, its state, its update rule, its checks. Its JSON form is the struct's fields
/// (serde) with `"name"` beside them; its text form is its `Display`.
pub(crate) trait Rule: Copy + fmt::Display + Serialize + for<'de> Deserialize<'de> {
    /// The name, as the JSON form's `"name"` and `Display` write it.
    const NAME: &'static str;
    /// State tensors per parameter tensor, each of the parameter's shape.
    const SLOTS: usize;
    /// The rule at learning rate `lr` with its default hyper-parameters (those its
    /// struct's fields document).
    fn with_lr(lr: f64) -> Self;
    /// The base learning rate `η`.
    fn lr(&self) -> f64;
    /// The hyper-parameters of update `t` at learning rate `lr` (scheduled).
    fn hyper(&self, lr: f64, t: u64) -> Hyper;
    /// Checks every hyper-parameter's range.
    fn validate(&self) -> Result<()>;
    /// One update of `theta` from its gradient `g`, with its `SLOTS` state tensors: all of
    /// a parameter tensor's entries, or a run of them (each entry updates on its own).
    fn update<T: Scalar>(theta: &mut [T], g: &[T], slots: &mut [&mut [T]], hp: &Hyper);
}

/// `Err(InvalidConfig)` naming `what` unless `ok`.
pub(crate) fn check(what: &'static str, ok: bool, expected: &'static str, v: f64) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(TrainError::InvalidConfig {
            what,
            expected,
            found: v.to_string(),
        })
    }
}

/// The learning rate's check, the same for every optimizer: finite and `> 0`.
pub(crate) fn check_lr(lr: f64) -> Result<()> {
    check("learning rate", positive(lr), "finite and > 0", lr)
}

/// `v ∈ [0, 1)`: a decay factor.
pub(crate) fn unit(v: f64) -> bool {
    (0.0..1.0).contains(&v)
}

/// `v` finite and `> 0`.
pub(crate) fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// Declares [`Optimizer`] from one list of `Variant(Type)`, each `Type` an optimizer's
/// configuration struct implementing [`Rule`], and emits every method that dispatches to
/// them (`name`, `lr`, `slots`, `validate`, the update), `Display`, `From`, and serde (the
/// JSON form: the struct's fields and `"name": Type::NAME`). Every `match` is exhaustive.
macro_rules! optimizer_table {
    (
        $(#[$meta:meta])*
        pub enum $Enum:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident($Type:ty)
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $Enum {
            $(
                $(#[$vmeta])*
                $variant($Type),
            )+
        }

        // The update's state views hold at most `MAX_SLOTS` tensors.
        $(const _: () = assert!(<$Type as Rule>::SLOTS <= MAX_SLOTS);)+

        impl $Enum {
            /// Every optimizer's name, in declaration order (the JSON form's `"name"`).
            pub const NAMES: &'static [&'static str] = &[$(<$Type as Rule>::NAME),+];

            /// Every optimizer at learning rate `lr` with its default hyper-parameters, in
            /// declaration order.
            pub fn all(lr: f64) -> [$Enum; $Enum::NAMES.len()] {
                [$($Enum::$variant(<$Type as Rule>::with_lr(lr))),+]
            }

            /// The optimizer's name (`"adam"`).
            pub fn name(&self) -> &'static str {
                match self {
                    $($Enum::$variant(_) => <$Type as Rule>::NAME,)+
                }
            }

            /// The base learning rate.
            pub fn lr(&self) -> f64 {
                match self {
                    $($Enum::$variant(o) => o.lr(),)+
                }
            }

            /// How many state tensors per parameter tensor the optimizer keeps (0 for SGD,
            /// the velocity of momentum, Adam's two moments).
            pub fn slots(&self) -> usize {
                match self {
                    $($Enum::$variant(_) => <$Type as Rule>::SLOTS,)+
                }
            }

            /// Checks every hyperparameter's range.
            ///
            /// # Errors
            /// [`TrainError::InvalidConfig`] naming the first bad one.
            pub fn validate(&self) -> Result<()> {
                match self {
                    $($Enum::$variant(o) => o.validate(),)+
                }
            }

            /// The hyper-parameters of update `t` at learning rate `lr`.
            fn hyper(&self, lr: f64, t: u64) -> Hyper {
                match self {
                    $($Enum::$variant(o) => o.hyper(lr, t),)+
                }
            }

            /// One update of a parameter by this optimizer's rule.
            fn update<T: Scalar>(
                &self,
                theta: &mut [T],
                g: &[T],
                slots: &mut [&mut [T]],
                hp: &Hyper,
            ) {
                match self {
                    $($Enum::$variant(_) => <$Type as Rule>::update(theta, g, slots, hp),)+
                }
            }
        }

        impl fmt::Display for $Enum {
            /// The optimizer's own form, e.g. `adam(lr=0.001, beta1=0.9, beta2=0.999,
            /// eps=0.00000001)`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($Enum::$variant(o) => o.fmt(f),)+
                }
            }
        }

        $(
            impl From<$Type> for $Enum {
                fn from(o: $Type) -> Self {
                    $Enum::$variant(o)
                }
            }
        )+

        impl Serialize for $Enum {
            /// `{"name": …, fields…}`: the struct's fields with its name beside them.
            fn serialize<S: serde::Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                /// A rule's fields with its name.
                #[derive(Serialize)]
                struct Named<'a, R> {
                    name: &'static str,
                    #[serde(flatten)]
                    rule: &'a R,
                }
                match self {
                    $($Enum::$variant(rule) => Named { name: <$Type as Rule>::NAME, rule }
                        .serialize(serializer),)+
                }
            }
        }

        impl<'de> Deserialize<'de> for $Enum {
            /// An object with `"name"`, one of [`Optimizer::NAMES`], and that optimizer's
            /// fields (others are ignored).
            fn deserialize<D: serde::Deserializer<'de>>(
                deserializer: D,
            ) -> std::result::Result<Self, D::Error> {
                use serde::de::Error;
                let mut fields = serde_json::Map::deserialize(deserializer)?;
                let name = match fields.remove("name") {
                    Some(serde_json::Value::String(name)) => name,
                    Some(other) => {
                        return Err(D::Error::custom(format!(
                            "an optimizer's \"name\" must be a string, found {other}"
                        )));
                    }
                    None => return Err(D::Error::missing_field("name")),
                };
                let fields = serde_json::Value::Object(fields);
                $(
                    if name == <$Type as Rule>::NAME {
                        return <$Type>::deserialize(fields)
                            .map($Enum::$variant)
                            .map_err(|e| D::Error::custom(format!("{name}: {e}")));
                    }
                )+
                Err(D::Error::unknown_variant(&name, Self::NAMES))
            }
        }
    };
}

optimizer_table! {
    /// An optimizer and its hyperparameters: one variant per rule, each holding that
    /// rule's configuration (its file in `optim/` has the formula, the state it keeps, its
    /// name and its JSON form). `lr` is the base learning rate `η` (a [`Schedule`] may scale
    /// it per epoch). Formulas follow PyTorch's, so that the same hyperparameters give the
    /// same updates. The constructors give the defaults: [`Optimizer::adam`] and the others.
    ///
    /// | optimizer | update | state per parameter |
    /// |---|---|---|
    /// | [`Sgd`] | `θ ← θ − η g` | — |
    /// | [`Momentum`] | `v ← β v + g`, `θ ← θ − η v` | `v` |
    /// | [`Nesterov`] | `v ← β v + g`, `θ ← θ − η (g + β v)` | `v` |
    /// | [`RmsProp`] | `s ← ρ s + (1 − ρ) g²`, `θ ← θ − η g / (√s + ε)` | `s` |
    /// | [`Adam`] | `m ← β₁ m + (1 − β₁) g`, `v ← β₂ v + (1 − β₂) g²`, `θ ← θ − η m̂ / (√v̂ + ε)` | `m`, `v` |
    /// | [`AdamW`] | `θ ← θ (1 − η λ)` on weights, then Adam's step | `m`, `v` |
    ///
    /// (`m̂ = m / (1 − β₁ᵗ)`, `v̂ = v / (1 − β₂ᵗ)`.)
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Optimizer {
        /// Plain gradient descent. See [`Sgd`].
        Sgd(Sgd),
        /// Heavy-ball momentum. See [`Momentum`].
        Momentum(Momentum),
        /// Nesterov momentum. See [`Nesterov`].
        Nesterov(Nesterov),
        /// RMSProp. See [`RmsProp`].
        RmsProp(RmsProp),
        /// Adam: bias-corrected first and second moments. See [`Adam`].
        Adam(Adam),
        /// AdamW: Adam with decoupled weight decay on weights (not biases). See [`AdamW`].
        AdamW(AdamW),
    }
}

impl Optimizer {
    /// Plain SGD with learning rate `lr`.
    pub fn sgd(lr: f64) -> Self {
        Sgd::with_lr(lr).into()
    }
    /// Momentum SGD, `β = 0.9`.
    pub fn momentum(lr: f64) -> Self {
        Momentum::with_lr(lr).into()
    }
    /// Nesterov momentum, `β = 0.9`.
    pub fn nesterov(lr: f64) -> Self {
        Nesterov::with_lr(lr).into()
    }
    /// RMSProp, `ρ = 0.9`, `ε = 1e-8`.
    pub fn rmsprop(lr: f64) -> Self {
        RmsProp::with_lr(lr).into()
    }
    /// Adam, `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`.
    pub fn adam(lr: f64) -> Self {
        Adam::with_lr(lr).into()
    }
    /// AdamW, `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`, `λ = 0.01`.
    pub fn adamw(lr: f64) -> Self {
        AdamW::with_lr(lr).into()
    }
}

/// An optimizer's mutable state: the step count `t` and, per parameter tensor, its moment
/// buffers (in [`Network::for_each_param`] order).
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState<T: Scalar> {
    /// The configuration.
    pub optimizer: Optimizer,
    /// Number of updates applied so far (`t` of Adam's bias correction).
    pub steps: u64,
    /// Per parameter tensor: its state tensors (velocity; or first and second moments).
    pub slots: Vec<Vec<DMatrix<T>>>,
}

impl<T: Scalar> OptimizerState<T> {
    /// A fresh state (no steps taken).
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] for a bad hyperparameter.
    pub fn new(optimizer: Optimizer) -> Result<Self> {
        optimizer.validate()?;
        Ok(Self {
            optimizer,
            steps: 0,
            slots: Vec::new(),
        })
    }

    /// Applies one update to every parameter of `net` from the gradients of its last
    /// backward pass, with learning rate `lr`. Allocates the moment buffers at the first
    /// step only. Inside [`with_kernel_threads`](nn_core::with_kernel_threads) with two
    /// threads, a large tensor is updated in two halves, the second on nn-core's helper
    /// thread; each entry is updated alike either way.
    pub fn step(&mut self, net: &mut Network<T>, lr: f64) {
        self.apply(net, lr, false);
    }

    /// [`OptimizerState::step`] that reads each gradient once: a run of [`CHECKED_RUN`]
    /// entries is checked finite just before it is applied, while it is in the L1 cache.
    /// Returns `false` at the first run that is not finite (on two threads, each half stops
    /// at its first), with the runs before it updated, parameters and moments alike: for a
    /// caller that restores its own copy of the parameters then, as [`Trainer::fit`]
    /// does. Every update applied is the same bits as [`OptimizerState::step`]'s. (W4's
    /// 784-512-512-10 at batch 256 on one core of the Intel Xeon, model 167: 178–190 µs a
    /// step against 85–90 for the check and 173–178 for the update after it.)
    ///
    /// [`Trainer::fit`]: crate::Trainer::fit
    pub(crate) fn step_if_finite(&mut self, net: &mut Network<T>, lr: f64) -> bool {
        self.apply(net, lr, true)
    }

    /// The update of [`OptimizerState::step`], each run checked first if `checked`
    /// ([`OptimizerState::step_if_finite`]); `false` if a checked run was not finite.
    fn apply(&mut self, net: &mut Network<T>, lr: f64, checked: bool) -> bool {
        self.steps += 1;
        let (optimizer, slots) = (self.optimizer, &mut self.slots);
        let n_slots = optimizer.slots();
        let hyper = optimizer.hyper(lr, self.steps);
        // A parameter that does not decay (a bias) updates with λ = 0.
        let no_decay = Hyper {
            weight_decay: 0.0,
            ..hyper
        };
        let finite = AtomicBool::new(true);
        let mut index = 0;
        net.for_each_param(&mut |p: ParamMut<'_, T>| {
            if slots.len() <= index {
                slots.push(vec![
                    DMatrix::zeros(p.value.nrows(), p.value.ncols());
                    n_slots
                ]);
            }
            let hp = if p.decays { &hyper } else { &no_decay };
            let (theta, g) = (p.value.as_mut_slice(), p.grad.as_slice());
            let mut state: [&mut [T]; MAX_SLOTS] = [&mut [], &mut []];
            for (view, slot) in state.iter_mut().zip(slots[index].iter_mut()) {
                *view = slot.as_mut_slice();
            }
            let state = &mut state[..n_slots];
            index += 1;
            if !finite.load(Ordering::Relaxed) {
                return;
            }
            in_halves((theta, g, state), &|run| {
                if !checked {
                    optimizer.update(run.0, run.1, run.2, hp);
                } else if !update_if_finite(optimizer, run, hp) {
                    finite.store(false, Ordering::Relaxed);
                }
            });
        });
        finite.into_inner()
    }
}

/// Entries of a gradient [`OptimizerState::step_if_finite`] checks at a time before it
/// applies them: 16 KiB of `f32`, still in the L1 cache when the update reads them.
const CHECKED_RUN: usize = 4096;

/// `optimizer`'s update of `run`, [`CHECKED_RUN`] entries at a time, each checked finite
/// first; `false` (the rest not updated) at the first that is not.
fn update_if_finite<T: Scalar>(optimizer: Optimizer, run: Run<'_, T>, hp: &Hyper) -> bool {
    let (theta, g, state) = run;
    let n_slots = state.len();
    for start in (0..g.len()).step_by(CHECKED_RUN) {
        let end = (start + CHECKED_RUN).min(g.len());
        if !all_finite(&g[start..end]) {
            return false;
        }
        let mut runs: [&mut [T]; MAX_SLOTS] = [&mut [], &mut []];
        for (view, slot) in runs.iter_mut().zip(state.iter_mut()) {
            *view = &mut slot[start..end];
        }
        let runs = &mut runs[..n_slots];
        optimizer.update(&mut theta[start..end], &g[start..end], runs, hp);
    }
    true
}

/// Most state tensors an optimizer keeps per parameter tensor (Adam's two moments).
const MAX_SLOTS: usize = 2;

/// Fewest entries of a parameter tensor whose update (or check) is shared with nn-core's
/// helper thread on two threads ([`with_kernel_threads`](nn_core::with_kernel_threads)).
/// Shared, each core reads the half of the gradient it computed, in its own cache, rather
/// than the caller reading it all from the other core's: W3's 784-128-10 on two threads
/// spent 40 µs a step in the update and 12 in the divergence check against 10 and 4.5 on
/// one (one core each of the Intel Xeon, model 167).
const HALVES_MIN: usize = 1 << 14;

/// Where a tensor of `len` entries is cut into the halves of its update or check: `None`
/// (not cut) on one thread or below [`HALVES_MIN`]; else at half its length, rounded up to
/// whole cache lines on each side.
fn halves_at(len: usize) -> Option<usize> {
    (nn_core::kernel_threads() >= 2 && len >= HALVES_MIN).then(|| (len / 2).next_multiple_of(16))
}

/// A parameter tensor's entries, its gradient's and its state tensors'.
type Run<'a, T> = (&'a mut [T], &'a [T], &'a mut [&'a mut [T]]);

/// `f` on all of `run`, or on its two halves (the second on nn-core's helper thread) when
/// two threads are allowed and the run is long: every entry is computed alike either way,
/// so the bits do not depend on the thread count.
fn in_halves<T: Scalar>(run: Run<'_, T>, f: &(dyn Fn(Run<'_, T>) + Sync)) {
    let (theta, g, state) = run;
    let Some(at) = halves_at(theta.len()) else {
        return f((theta, g, state));
    };
    let (t0, t1) = theta.split_at_mut(at);
    let (g0, g1) = g.split_at(at);
    let mut first: [&mut [T]; MAX_SLOTS] = [&mut [], &mut []];
    let mut second: [&mut [T]; MAX_SLOTS] = [&mut [], &mut []];
    for ((view, a), b) in state.iter_mut().zip(&mut first).zip(&mut second) {
        (*a, *b) = std::mem::take(view).split_at_mut(at);
    }
    let n = state.len();
    let (first, second) = (&mut first[..n], &mut second[..n]);
    nn_core::join(|| f((t0, g0, first)), || f((t1, g1, second)));
}

/// The global L2 norm `√(Σ_θ ‖∂J/∂θ‖²)` of all gradients of `net` (NaN if any is NaN).
pub fn gradient_norm<T: Scalar>(net: &mut Network<T>) -> f64 {
    let mut sum = 0.0;
    net.for_each_param(&mut |p| sum += sum_squares(p.grad.as_slice()));
    sum.sqrt()
}

/// `true` if every gradient of `net` is finite: the divergence check of a step without
/// clipping, at the cost of reading the gradients once in `T` (no norm is needed). On two
/// threads ([`with_kernel_threads`](nn_core::with_kernel_threads)) a large tensor is read
/// in two halves, one on nn-core's helper thread.
pub fn gradients_finite<T: Scalar>(net: &mut Network<T>) -> bool {
    let mut finite = true;
    net.for_each_param(&mut |p| {
        let g = p.grad.as_slice();
        let Some(at) = halves_at(g.len()) else {
            finite &= all_finite(g);
            return;
        };
        // On two threads, each half on the core that (likely) computed it; see `in_halves`.
        let (g0, g1) = g.split_at(at);
        let (mut finite0, mut finite1) = (true, true);
        nn_core::join(|| finite0 = all_finite(g0), || finite1 = all_finite(g1));
        finite &= finite0 && finite1;
    });
    finite
}

/// Scales all gradients by `max_norm / norm` if their global norm exceeds `max_norm`
/// (PyTorch's `clip_grad_norm_`). Returns the norm before clipping.
pub fn clip_gradient_norm<T: Scalar>(net: &mut Network<T>, max_norm: f64) -> f64 {
    let norm = gradient_norm(net);
    if norm.is_finite() && norm > max_norm {
        let scale = T::cast(max_norm / norm);
        net.for_each_param(&mut |p| *p.grad *= scale);
    }
    norm
}

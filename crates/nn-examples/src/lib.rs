//! # nn-examples — the claims of the theory, measured
//!
//! Each claim T1–T15 of the tutorial the `nn` workspace follows is an experiment here: a
//! function that runs it with a configuration (full size for the tour, a quick one for
//! tests), returns the measured numbers, decides a verdict from them, and draws a figure
//! where a picture says more than the numbers. Beside it, each experiment's module keeps
//! the claim's lesson (`LESSON`: the claim in plain words, its equation, what the
//! experiment does), which the tour's page shows with the figures, their captions and what
//! the numbers of the run mean. The `tour` binary runs them all:
//!
//! ```text
//! cargo run --release -p nn-examples --bin tour            # all, figures in target/tour/
//! cargo run --release -p nn-examples --bin tour -- --only T3,T10 --quick --out DIR
//! ```
//!
//! The `nn` binary trains, evaluates and applies networks on your own CSV tables (numbers
//! and text, missing values allowed; the preprocessing is fitted on the training rows and
//! saved in the model; defaults are scikit-learn's MLP defaults):
//!
//! ```text
//! nn train   --data train.csv --label species --out model.safetensors
//! nn eval    --model model.safetensors --data test.csv
//! nn predict --model model.safetensors --data new.csv > predictions.csv
//! nn info    --model model.safetensors
//! ```
//!
//! Every experiment's test runs the same function on its quick configuration and asserts
//! the claim on the numbers; every experiment that trains a network first checks that
//! network's gradient against finite differences.
//!
//! ## Example: run one experiment
//!
//! ```no_run
//! use nn_examples::{experiments, Context, Size};
//! let ctx = Context { size: Size::Quick, out_dir: "target/tour".into() };
//! let t5 = experiments::all().into_iter().find(|e| e.id == "T5").unwrap();
//! let outcome = t5.outcome(&ctx)?;
//! println!("{}: {} → {}", outcome.id, outcome.measured, outcome.passed);
//! # Ok::<(), nn_examples::ExampleError>(())
//! ```
//!
//! ## Dependencies
//!
//! - `nn-train` (and through it the rest of the chain): the networks being studied.
//! - `plotters` (SVG backend only: no system fonts, no C libraries): the figures.
//! - `png` and `base64`: the PNG rasters that decision regions and cost surfaces are drawn
//!   as inside the SVGs (thousands of rectangles would weigh megabytes), embedded as data
//!   URLs.
//! - `pulldown-latex` (one dependency, `bumpalo`): the tour page's equations, written as
//!   LaTeX in each experiment's lesson and rendered as MathML, which browsers show
//!   without scripts or network.
//! - `indicatif`: the tour's and `nn train`'s progress bars. `clap`: the `nn` command
//!   line's flags, help and suggestions. `csv`: `nn predict`'s output (quoted fields).
//! - `nalgebra`: matrices in the experiments; `thiserror`: the error type.

pub mod datasets;
mod error;
pub mod experiments;
pub mod plot;
pub mod report;

pub use error::{ExampleError, Result};
pub use report::{
    Context, Experiment, Figure, Findings, Lesson, Outcome, RunInfo, Size, table, write_index,
};

/// The workspace README's Rust examples, compiled and run as doc tests so that they stay
/// true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;

/// The crate README's examples, compiled (and run, where not marked `no_run`) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

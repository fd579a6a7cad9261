//! A small convolutional network on the 8×8 handwritten digits (1797 images, 10 classes):
//! the CSV loaded with [`nn_train::data::load_csv`], a fixed, seeded, stratified 80/20
//! split, training with Adam, and the test accuracy.
//!
//! ```text
//! cargo run --release -p nn-train --example digits_cnn [-- path/to/digits.csv.gz]
//! ```
//!
//! The data file (gzip CSV: a header, then 64 pixel columns with counts 0–16 and a `label`
//! column) defaults to `../shared/data/digits.csv.gz` next to the repository, then to the
//! copy bundled with `nn-examples`. The digits are CC BY 4.0; see the `LICENSE-digits.txt`
//! beside the file.
//!
//! Architecture (PyTorch terms): `Conv2d(1, 16, 3, padding=1) → ReLU → MaxPool2d(2) →
//! Conv2d(16, 32, 3, padding=1) → ReLU → MaxPool2d(2) → Flatten → Linear(128, 10)` with
//! softmax + cross-entropy.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nn_train::data::{CsvOptions, load_csv};
use nn_train::{
    Activation, Control, EpochRecord, FitConfig, Loss, Network, Observer, Optimizer, Schedule, fit,
};

const CLASSES: usize = 10;
const SEED: u64 = 2024;

/// Prints the training cost every few epochs.
struct Progress;

impl Observer for Progress {
    fn on_epoch(&mut self, record: &EpochRecord) -> Control {
        if record.epoch % 5 == 4 {
            println!(
                "epoch {:>3}  train cost {:.4}  train accuracy {:.4}",
                record.epoch + 1,
                record.train_cost,
                record.train_accuracy.unwrap_or(f64::NAN)
            );
        }
        Control::Continue
    }
}

fn default_path() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let shared = root.join("../shared/data/digits.csv.gz");
    if shared.exists() {
        shared
    } else {
        root.join("crates/nn-examples/data/digits.csv.gz")
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(default_path, PathBuf::from);
    // 64 pixel columns then `label`: X is 64 × 1797, Y one-hot 10 × 1797.
    let data = load_csv::<f32>(&path, &CsvOptions::default())?;
    let (train, test) = data.split_stratified(0.2, SEED)?; // 20% of each class for testing
    let (x, y) = (train.x().map(|p| p / 16.0), train.y());
    let (xt, yt) = (test.x().map(|p| p / 16.0), test.y());
    println!(
        "{}: {} images, {} train / {} test (stratified, seed {SEED})",
        path.display(),
        data.len(),
        x.ncols(),
        xt.ncols()
    );

    let mut net = Network::<f32>::image_builder(1, 8, 8)
        .conv2d_strided(16, 3, 1, 1, Activation::Relu) // 16×8×8
        .max_pool(2) // 16×4×4
        .conv2d_strided(32, 3, 1, 1, Activation::Relu) // 32×4×4
        .max_pool(2) // 32×2×2
        .flatten() // 128
        .dense(CLASSES, Activation::Softmax)
        .loss(Loss::CategoricalCrossEntropy)
        .seed(SEED)
        .build()?;
    print!("{}", net.summary());

    let config = FitConfig {
        epochs: 40,
        batch_size: 32,
        optimizer: Optimizer::adam(3e-3),
        schedule: Schedule::Cosine {
            epochs: 40,
            min_factor: 0.02,
        },
        seed: SEED,
        ..FitConfig::default()
    };
    let start = Instant::now();
    fit(&mut net, (&x, y), None, &config, &mut Progress)?;
    let seconds = start.elapsed().as_secs_f64();

    let train_eval = net.evaluate(&x, y)?;
    let test_eval = net.evaluate(&xt, yt)?;
    println!(
        "trained {} epochs in {seconds:.2} s; train accuracy {:.4}; test accuracy {:.4} \
         ({} test images), test cost {:.4}",
        config.epochs,
        train_eval.accuracy.unwrap_or(f64::NAN),
        test_eval.accuracy.unwrap_or(f64::NAN),
        xt.ncols(),
        test_eval.cost
    );
    Ok(())
}

//! A small convolutional network on the 8×8 handwritten digits (1797 images, 10 classes):
//! a fixed, seeded, stratified 80/20 split, training with Adam, and the test accuracy.
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
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nalgebra::DMatrix;
use nn_train::{
    Activation, Control, EpochRecord, FitConfig, Loss, Network, Observer, Optimizer, Schedule,
    SeededRng, fit,
};

const PIXELS: usize = 64;
const CLASSES: usize = 10;
const SEED: u64 = 2024;

/// The images (pixels scaled to [0, 1]) and their labels.
type Digits = (Vec<[f32; PIXELS]>, Vec<usize>);

/// Reads the gzip CSV.
fn load(path: &Path) -> Result<Digits, Box<dyn Error>> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut text)?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers()?.clone();
    if header.len() != PIXELS + 1 || &header[PIXELS] != "label" {
        return Err(format!("{}: expected 64 pixel columns and `label`", path.display()).into());
    }
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for (line, record) in reader.records().enumerate() {
        let record = record?;
        let mut image = [0.0f32; PIXELS];
        for (p, field) in image.iter_mut().zip(record.iter()) {
            *p = field.parse::<f32>()? / 16.0;
        }
        let label: usize = record[PIXELS].parse()?;
        if label >= CLASSES {
            return Err(format!("line {}: label {label} is not a digit", line + 2).into());
        }
        images.push(image);
        labels.push(label);
    }
    Ok((images, labels))
}

/// A stratified split: within each class, a seeded shuffle, then the first 80% train.
fn split(labels: &[usize], seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = SeededRng::new(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in 0..CLASSES {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut members);
        let cut = (members.len() * 4).div_ceil(5);
        train.extend_from_slice(&members[..cut]);
        test.extend_from_slice(&members[cut..]);
    }
    (train, test)
}

/// Columns of images and one-hot targets for the given examples.
fn matrices(
    images: &[[f32; PIXELS]],
    labels: &[usize],
    which: &[usize],
) -> (DMatrix<f32>, DMatrix<f32>) {
    let x = DMatrix::from_fn(PIXELS, which.len(), |r, j| images[which[j]][r]);
    let y = DMatrix::from_fn(CLASSES, which.len(), |r, j| {
        f32::from(u8::from(labels[which[j]] == r))
    });
    (x, y)
}

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
    let (images, labels) = load(&path)?;
    let (train, test) = split(&labels, SEED);
    let (x, y) = matrices(&images, &labels, &train);
    let (xt, yt) = matrices(&images, &labels, &test);
    println!(
        "{}: {} images, {} train / {} test (stratified, seed {SEED})",
        path.display(),
        images.len(),
        train.len(),
        test.len()
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
    fit(&mut net, (&x, &y), None, &config, &mut Progress)?;
    let seconds = start.elapsed().as_secs_f64();

    let train_eval = net.evaluate(&x, &y)?;
    let test_eval = net.evaluate(&xt, &yt)?;
    println!(
        "trained {} epochs in {seconds:.2} s; train accuracy {:.4}; test accuracy {:.4} \
         ({} test images), test cost {:.4}",
        config.epochs,
        train_eval.accuracy.unwrap_or(f64::NAN),
        test_eval.accuracy.unwrap_or(f64::NAN),
        test.len(),
        test_eval.cost
    );
    Ok(())
}

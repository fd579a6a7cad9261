//! Saving survives `kill -9`: a process killed at random moments while it saves a model
//! over and over leaves the model file valid every time (the old model or the new one,
//! never a mixture) and at most one temporary file beside it.
//!
//! The saving process is this test binary itself, running the ignored test
//! `save_forever` (so no other binary is needed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nn_train::persist::{load_model, save_model};
use nn_train::{Activation, Loss, Network};

const ENV: &str = "NN_SAVE_FOREVER_PATH";

/// One of the two models the saver alternates between: 256 × 256 weights (256 KB), a
/// few milliseconds of writing and syncing, so that kills land inside writes too.
fn model(seed: u64) -> Network<f32> {
    Network::<f32>::builder(256)
        .dense(256, Activation::Tanh)
        .dense(1, Activation::Identity)
        .loss(Loss::Mse)
        .seed(seed)
        .build()
        .unwrap()
}

#[test]
#[ignore = "the saving process of kill_9_during_saves_leaves_a_valid_model; runs until killed"]
fn save_forever() {
    let Ok(path) = std::env::var(ENV) else {
        panic!(
            "{ENV} is not set: this test is started by kill_9_during_saves_leaves_a_valid_model"
        );
    };
    let nets = [model(1), model(2)];
    for i in 0.. {
        save_model(Path::new(&path), &nets[i % 2], None).unwrap();
    }
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with(".tmp"))
        .collect()
}

#[test]
fn kill_9_during_saves_leaves_a_valid_model() {
    let dir = std::env::temp_dir().join(format!("nn-kill-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    let first = [model(1), model(2)].map(|n| n.layers()[0].params()[0].1[(3, 5)]);
    let mut loaded = 0;
    for i in 0..200u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "save_forever",
                "--test-threads",
                "1",
            ])
            .env(ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at moments spread over the start-up and several saves.
        std::thread::sleep(Duration::from_millis(20 + (i * 37) % 150));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        if path.exists() {
            let m = load_model::<f32>(&path)
                .unwrap_or_else(|e| panic!("kill {i}: the model file is corrupt: {e}"));
            let w = m.network.layers()[0].params()[0].1[(3, 5)];
            assert!(first.contains(&w), "kill {i}: neither model: {w}");
            loaded += 1;
        }
        let tmp = leftovers(&dir);
        assert!(tmp.len() <= 1, "kill {i}: {tmp:?}");
    }
    // Most kills came after at least one complete save.
    assert!(
        loaded >= 150,
        "only {loaded} of 200 kills found a saved model"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

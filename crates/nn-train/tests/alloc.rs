//! A training step allocates nothing after the first batch of a given size: counted with
//! a global allocator that tallies every allocation of this test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nalgebra::DMatrix;
use nn_train::nn_core::testing::{
    CountingAllocator, allocations_during, allocations_on_this_thread_during,
};
use nn_train::*;

/// Counts every allocation of this binary, worker threads included.
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn check_no_allocation<T: Scalar>(net: Network<T>, optimizer: Optimizer, classes: usize) {
    check_no_allocation_threads(net, optimizer, classes, None, 128, 3);
}

/// A batch of several shares for the large networks below.
const BATCH: usize = 1536;

/// `rounds` pairs of steps (a full batch of `columns`, a partial one) after a warm-up pair
/// allocate nothing. On more than one thread the steps run on a thread of their own, whose
/// thread-local buffers (the products' packing buffers, for one) no earlier check has
/// sized: a step that runs a whole product on the calling thread after halves of it
/// (the trainer times steps on one thread too) must find them large enough.
fn check_no_allocation_threads<T: Scalar>(
    net: Network<T>,
    optimizer: Optimizer,
    classes: usize,
    threads: Option<usize>,
    columns: usize,
    rounds: usize,
) {
    let check = move || check_steps(net, optimizer, classes, threads, columns, rounds);
    if threads.unwrap_or(1) == 1 {
        check();
    } else if let Err(panic) = std::thread::spawn(check).join() {
        std::panic::resume_unwind(panic);
    }
}

fn check_steps<T: Scalar>(
    mut net: Network<T>,
    optimizer: Optimizer,
    classes: usize,
    threads: Option<usize>,
    columns: usize,
    rounds: usize,
) {
    let inputs = net.input_shape().len();
    let x = DMatrix::from_fn(inputs, columns, |i, j| {
        T::cast(((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.5)
    });
    let y = DMatrix::from_fn(classes, columns, |i, j| {
        if j % classes == i {
            T::one()
        } else {
            T::zero()
        }
    });
    let x_small = x.columns(0, 5).into_owned();
    let y_small = y.columns(0, 5).into_owned();
    let mut trainer = Trainer::new(FitConfig {
        optimizer,
        clip_norm: Some(10.0),
        threads,
        ..FitConfig::default()
    })
    .unwrap();
    // warm-up: the full batch, then the partial one (buffers shrink without freeing)
    trainer.train_step(&mut net, &x, &y).unwrap();
    trainer.train_step(&mut net, &x_small, &y_small).unwrap();
    let steps = || {
        for _ in 0..rounds {
            trainer.train_step(&mut net, &x, &y).unwrap();
            trainer.train_step(&mut net, &x_small, &y_small).unwrap();
        }
    };
    // On one thread every step runs on this thread, whose own counter no other thread
    // moves (the test harness's main thread allocates when it starts waiting for the test,
    // which can fall inside the first count). With workers, the process-wide counter
    // sees their threads too.
    let n = if threads.unwrap_or(1) == 1 {
        allocations_on_this_thread_during(steps)
    } else {
        allocations_during(steps)
    };
    assert_eq!(
        n,
        0,
        "{net}: {n} allocations in {} training steps after warm-up on {threads:?} threads",
        2 * rounds
    );
}

/// The process-wide counter (which must see the worker threads too) counts everything, so
/// this binary has one test: nothing else runs while it counts.
#[test]
fn training_steps_do_not_allocate() {
    dense_training_steps_do_not_allocate();
    training_steps_in_shares_do_not_allocate();
    one_share_steps_on_two_threads_do_not_allocate();
    cnn_training_steps_do_not_allocate();
    serving_predictions_do_not_allocate();
}

/// `predict_into` on one column at a time (and on a batch of 16) allocates nothing after
/// the first call of each width, and gives `predict`'s bits; so does a CNN's.
fn serving_predictions_do_not_allocate() {
    let net = Network::<f32>::builder(784)
        .dense(128, Activation::Relu)
        .dropout(0.2)
        .dense(10, Activation::Softmax)
        .build()
        .unwrap();
    let x = DMatrix::from_fn(784, 16, |i, j| ((i * 7 + j * 3) % 11) as f32 / 11.0 - 0.5);
    let one = x.columns(0, 1).into_owned();
    let mut buffers = PredictBuffers::default();
    for batch in [&one, &x] {
        let expected = net.predict(batch).unwrap();
        assert_eq!(net.predict_into(batch, &mut buffers).unwrap(), &expected);
        let n = allocations_on_this_thread_during(|| {
            for _ in 0..50 {
                net.predict_into(batch, &mut buffers).unwrap();
            }
        });
        assert_eq!(
            n,
            0,
            "{n} allocations in 50 predictions of {} columns",
            batch.ncols()
        );
    }
    // The counter sees allocations: `predict` makes its result.
    assert!(allocations_on_this_thread_during(|| net.predict(&one).unwrap()) > 0);

    // Convolution and pooling take the default path (their own results): the same bits
    // as `predict`, whatever the order of batch widths.
    let cnn = Network::<f64>::image_builder(2, 8, 6)
        .conv2d_strided(4, 3, 1, 1, Activation::Relu)
        .max_pool(2)
        .dropout(0.1)
        .flatten()
        .dense(3, Activation::Softmax)
        .build()
        .unwrap();
    let images = DMatrix::from_fn(96, 16, |i, j| ((i * 5 + j * 7) % 13) as f64 / 13.0 - 0.5);
    let mut buffers = PredictBuffers::default();
    for width in [1, 16, 3, 16] {
        let batch = images.columns(0, width).into_owned();
        assert_eq!(
            cnn.predict_into(&batch, &mut buffers).unwrap(),
            &cnn.predict(&batch).unwrap(),
            "{width} columns"
        );
    }
    // The convolution's unfolding buffers are kept per thread: after the first call of a
    // width, nothing is allocated either.
    let batch = images.columns(0, 16).into_owned();
    cnn.predict_into(&batch, &mut buffers).unwrap();
    let n = allocations_on_this_thread_during(|| {
        for _ in 0..50 {
            cnn.predict_into(&batch, &mut buffers).unwrap();
        }
    });
    assert_eq!(n, 0, "{n} allocations in 50 CNN predictions of 16 columns");
}

fn dense_training_steps_do_not_allocate() {
    let mlp = |loss: Loss, out: Activation, classes: usize| {
        Network::<f32>::builder(6)
            .dense(16, Activation::Relu)
            .dropout(0.1)
            .dense(8, Activation::Tanh)
            .dense(classes, out)
            .loss(loss)
            .l2(1e-4)
            .build()
            .unwrap()
    };
    for opt in [
        Optimizer::sgd(0.01),
        Optimizer::nesterov(0.01),
        Optimizer::rmsprop(0.01),
        Optimizer::adamw(0.01),
    ] {
        check_no_allocation(
            mlp(Loss::CategoricalCrossEntropy, Activation::Softmax, 3),
            opt,
            3,
        );
        check_no_allocation(
            mlp(Loss::BinaryCrossEntropy, Activation::Sigmoid, 1),
            opt,
            1,
        );
    }
    let f64_net = Network::<f64>::builder(6)
        .dense(5, Activation::Gelu)
        .dense(2, Activation::Identity)
        .loss(Loss::Mse)
        .build()
        .unwrap();
    check_no_allocation(f64_net, Optimizer::adam(1e-3), 2);
}

/// Part of the single test below: a step of three shares, run by one thread, by two (in
/// two rounds) and by three.
fn training_steps_in_shares_do_not_allocate() {
    // Many inputs and few units: enough parameters for three shares, little element-wise
    // work per column (this test runs unoptimised; libtest's notice of a test running
    // over a minute would allocate).
    let net = || {
        Network::<f32>::builder(512)
            .dense(64, Activation::Relu)
            .dropout(0.1)
            .dense(3, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .build()
            .unwrap()
    };
    assert_eq!(net().training_shares(BATCH), 3);
    // Many steps on two threads: a thread pool's job queue, for one, allocates a block
    // every few dozen submissions, which a handful of steps would not show.
    for (threads, rounds) in [(1, 3), (2, 70), (3, 3)] {
        check_no_allocation_threads(
            net(),
            Optimizer::adam(1e-3),
            3,
            Some(threads),
            BATCH,
            rounds,
        );
    }
}

/// Part of the single test above: a step of one share whose products nn-core cuts in
/// halves, on one thread and on two (the second half on nn-core's helper thread), over
/// many steps.
fn one_share_steps_on_two_threads_do_not_allocate() {
    let net = || {
        Network::<f32>::builder(640)
            .dense(512, Activation::Relu)
            .dense(3, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .build()
            .unwrap()
    };
    assert_eq!(net().training_shares(256), 1);
    for (threads, rounds) in [(1, 3), (2, 70)] {
        check_no_allocation_threads(net(), Optimizer::sgd(0.01), 3, Some(threads), 256, rounds);
    }
}

/// Part of the single test above: every image layer, one and two threads.
fn cnn_training_steps_do_not_allocate() {
    let cnn = |hidden: usize| {
        Network::<f32>::image_builder(2, 8, 6)
            .conv2d_strided(8, 3, 1, 1, Activation::Relu)
            .max_pool(2)
            .layer(Conv2dConfig {
                out_channels: 6,
                kernel: [2, 3],
                stride: [1, 1],
                padding: [0, 1],
                activation: Activation::Tanh,
                init: None,
            })
            .layer(AvgPool2dConfig {
                kernel: [3, 1],
                stride: [1, 1],
            })
            .dropout(0.1)
            .flatten()
            .dense(hidden, Activation::Relu)
            .dense(3, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .l2(1e-4)
            .build()
            .unwrap()
    };
    for opt in [Optimizer::sgd(0.01), Optimizer::adamw(0.01)] {
        check_no_allocation(cnn(8), opt, 3);
    }
    // One share on two threads, over enough steps for the trainer to time a few on one
    // thread too (the halves then run on this thread, with its own buffers).
    check_no_allocation_threads(cnn(8), Optimizer::sgd(0.01), 3, Some(2), 128, 70);
    // Large enough for a step in shares, on two threads.
    let big = cnn(1200);
    assert!(big.training_shares(1024) > 1);
    check_no_allocation_threads(big, Optimizer::adam(1e-3), 3, Some(2), 1024, 3);
}

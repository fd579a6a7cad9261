//! Products cut in halves on two threads (the helper thread of `with_kernel_threads`)
//! allocate nothing once warmed up, counted over the whole process: a test binary with one
//! test, so that nothing else runs while it counts.

use nn_core::testing::{CountingAllocator, allocations_during};
use nn_core::{DMatrix, Scalar, Trans, gemm_into, with_kernel_threads};

mod common;
use common::{operands, step_shapes};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// The products of a training step of 784-512-512-10 at batch 256 (the large ones cut in
/// two) and its forward products on one column (cut along the inner dimension).
fn step_products() -> Vec<(usize, usize, usize, Trans, Trans)> {
    let mut products = step_shapes(&[784, 512, 512, 10], 256);
    products.extend([
        (512, 784, 1, Trans::No, Trans::No),
        (512, 512, 1, Trans::No, Trans::No),
    ]);
    products
}

/// A product to run: `(op(A), op(B), A, B, C)`.
type Case<T> = (Trans, Trans, DMatrix<T>, DMatrix<T>, DMatrix<T>);

fn run_all<T: Scalar>(cases: &mut [Case<T>]) {
    with_kernel_threads(2, || {
        for (ta, tb, a, b, c) in cases.iter_mut() {
            gemm_into(T::one(), a, *ta, b, *tb, T::zero(), c)
                .unwrap_or_else(|e| unreachable!("shapes fit: {e}"));
        }
    });
}

fn cases<T: Scalar>() -> Vec<Case<T>> {
    step_products()
        .into_iter()
        .map(|shape| {
            let (a, b, c) = operands::<T>(shape);
            (shape.3, shape.4, a, b, c)
        })
        .collect()
}

#[test]
fn two_thread_products_allocate_nothing_after_warm_up() {
    let mut f32s = cases::<f32>();
    let mut f64s = cases::<f64>();
    // Warm-up: starts the helper thread and sizes both threads' packing buffers.
    run_all(&mut f32s);
    run_all(&mut f64s);
    let allocs = allocations_during(|| {
        for _ in 0..20 {
            run_all(&mut f32s);
            run_all(&mut f64s);
        }
    });
    assert_eq!(
        allocs, 0,
        "20 rounds of a step's products on two threads allocated {allocs} times"
    );
    let counted = allocations_during(|| std::hint::black_box(vec![0u8; 32]).len());
    assert_eq!(counted, 1, "the counter must see a known allocation");
}

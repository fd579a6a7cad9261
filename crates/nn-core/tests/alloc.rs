//! `gemm_into` allocates nothing once warmed up, on the shapes of a training step (forward,
//! and both backward products with their transposed operands), in `f32` and `f64`.
//!
//! A separate test binary because its counting global allocator sees the whole process.

use nn_core::testing::{CountingAllocator, allocations_on_this_thread, allocations_total};
use nn_core::{DMatrix, Scalar, Trans, gemm_into};

mod common;
use common::{operands, step_shapes};

/// Counts allocations made by the current thread (the test harness runs others).
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn shapes() -> Vec<(usize, usize, usize, Trans, Trans)> {
    let mut v = vec![
        (16, 2, 32, Trans::No, Trans::No),
        (1, 16, 32, Trans::No, Trans::No),
        (16, 2, 32, Trans::Yes, Trans::Yes),
    ];
    v.extend(step_shapes(&[2, 16, 16, 1], 32));
    v.extend(step_shapes(&[64, 32, 10], 64));
    v.extend(step_shapes(&[784, 128, 10], 64));
    v.extend(step_shapes(&[784, 512, 512, 10], 256));
    v
}

fn assert_allocation_free<T: Scalar>() {
    for shape in shapes() {
        let (m, k, n, ta, tb) = shape;
        let (a, b, mut c) = operands::<T>(shape);
        let run = |beta: f64, c: &mut DMatrix<T>| {
            gemm_into(T::one(), &a, ta, &b, tb, T::cast(beta), c)
                .unwrap_or_else(|e| unreachable!("shapes fit: {e}"));
        };
        run(0.0, &mut c); // warm-up: a kernel may size per-thread buffers once
        let before = allocations_on_this_thread();
        for beta in [0.0, 1.0, 0.5, 0.0] {
            run(beta, &mut c);
        }
        let allocs = allocations_on_this_thread() - before;
        assert_eq!(
            allocs,
            0,
            "{}: gemm_into allocated {allocs} times in 4 calls for m,k,n = {m},{k},{n}, \
             op(A) {ta:?}, op(B) {tb:?}",
            T::NAME
        );
        assert!(
            c.iter().all(|x| x.finite()),
            "{}: β = 0 must ignore NaN in C",
            T::NAME
        );
    }
}

#[test]
fn gemm_into_allocates_nothing_after_warm_up_f32() {
    assert_allocation_free::<f32>();
}

#[test]
fn gemm_into_allocates_nothing_after_warm_up_f64() {
    assert_allocation_free::<f64>();
}

#[test]
fn the_counter_sees_allocations() {
    let before = allocations_on_this_thread();
    let v = std::hint::black_box(vec![1u8; 64]);
    assert_eq!(allocations_on_this_thread() - before, 1, "{}", v.len());
    assert!(allocations_total() > 0);
}

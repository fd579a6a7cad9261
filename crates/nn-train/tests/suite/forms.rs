//! Every configuration's JSON form round-trips: every variant of the activations,
//! initializers, losses, optimizers (with their hyper-parameters), schedules, divergence,
//! early-stopping and convergence rules, training configurations, encoder kinds and
//! dtypes, written as the files write them (through a JSON value) and read back to the
//! same bits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nalgebra::DMatrix;
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::nn_core::DType;
use nn_train::optim::{Adam, AdamW, Momentum, Nesterov, RmsProp, Sgd};
use nn_train::*;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Any finite `f64`: ordinary values, and any bit pattern (subnormals, extremes).
fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        -10.0f64..10.0,
        any::<f64>().prop_filter("finite", |x| x.is_finite()),
    ]
}

/// A finite `f64 ≥ 0`.
fn non_negative() -> impl Strategy<Value = f64> {
    finite().prop_map(f64::abs)
}

fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        proptest::sample::select(Activation::ALL.to_vec()),
        non_negative().prop_map(|slope| Activation::LeakyRelu { slope }),
        non_negative().prop_map(|alpha| Activation::Elu { alpha }),
    ]
}

fn init() -> impl Strategy<Value = Init> {
    prop_oneof![
        Just(Init::Zeros),
        finite().prop_map(Init::Constant),
        (finite(), finite())
            .prop_filter("low < high", |(a, b)| a < b)
            .prop_map(|(low, high)| Init::Uniform { low, high }),
        (finite(), non_negative()).prop_map(|(mean, std)| Init::Normal { mean, std }),
        Just(Init::XavierNormal),
        Just(Init::GlorotNormal),
        Just(Init::GlorotUniform),
        finite().prop_map(|slope| Init::HeNormal { slope }),
        finite().prop_map(|slope| Init::HeUniform { slope }),
        Just(Init::LecunNormal),
        finite().prop_map(|gain| Init::Orthogonal { gain }),
    ]
}

fn loss() -> impl Strategy<Value = Loss> {
    prop_oneof![
        proptest::sample::select(Loss::ALL.to_vec()),
        non_negative()
            .prop_filter("> 0", |d| *d > 0.0)
            .prop_map(|delta| Loss::Huber { delta }),
    ]
}

fn optimizer() -> impl Strategy<Value = Optimizer> {
    prop_oneof![
        finite().prop_flat_map(|lr| proptest::sample::select(Optimizer::all(lr).to_vec())),
        finite().prop_map(|lr| Sgd { lr }.into()),
        (finite(), finite()).prop_map(|(lr, beta)| Momentum { lr, beta }.into()),
        (finite(), finite()).prop_map(|(lr, beta)| Nesterov { lr, beta }.into()),
        (finite(), finite(), finite()).prop_map(|(lr, rho, eps)| RmsProp { lr, rho, eps }.into()),
        (finite(), finite(), finite(), finite()).prop_map(|(lr, beta1, beta2, eps)| {
            Adam {
                lr,
                beta1,
                beta2,
                eps,
            }
            .into()
        }),
        (finite(), finite(), finite(), finite(), finite()).prop_map(
            |(lr, beta1, beta2, eps, weight_decay)| {
                AdamW {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                }
                .into()
            }
        ),
    ]
}

fn schedule() -> impl Strategy<Value = Schedule> {
    prop_oneof![
        Just(Schedule::Constant),
        (any::<usize>(), finite()).prop_map(|(every, gamma)| Schedule::Step { every, gamma }),
        finite().prop_map(|gamma| Schedule::Exponential { gamma }),
        (any::<usize>(), finite())
            .prop_map(|(epochs, min_factor)| Schedule::Cosine { epochs, min_factor }),
        (finite(), any::<usize>(), finite(), any::<usize>(), finite()).prop_map(
            |(factor, patience, threshold, cooldown, min_factor)| Schedule::ReduceOnPlateau {
                factor,
                patience,
                threshold,
                cooldown,
                min_factor,
            }
        ),
    ]
}

fn divergence() -> impl Strategy<Value = Divergence> {
    (
        proptest::option::of(finite()),
        proptest::option::of(finite()),
        any::<usize>(),
    )
        .prop_map(|(growth, above_best, patience)| Divergence {
            growth,
            above_best,
            patience,
        })
}

fn early_stopping() -> impl Strategy<Value = EarlyStopping> {
    (any::<usize>(), finite(), any::<bool>()).prop_map(|(patience, min_delta, restore_best)| {
        EarlyStopping {
            patience,
            min_delta,
            restore_best,
        }
    })
}

fn convergence() -> impl Strategy<Value = Convergence> {
    (finite(), any::<usize>()).prop_map(|(tol, patience)| Convergence { tol, patience })
}

fn fit_config() -> impl Strategy<Value = FitConfig> {
    (
        (any::<usize>(), any::<usize>(), any::<bool>(), any::<u64>()),
        (optimizer(), schedule(), any::<usize>()),
        (
            proptest::option::of(finite()),
            proptest::option::of(early_stopping()),
            proptest::option::of(convergence()),
            proptest::option::of(any::<usize>()),
            prop_oneof![Just(Divergence::default()), divergence()],
        ),
    )
        .prop_map(
            |(
                (epochs, batch_size, shuffle, seed),
                (optimizer, schedule, warmup_steps),
                (clip_norm, early_stopping, convergence, threads, divergence),
            )| FitConfig {
                epochs,
                batch_size,
                shuffle,
                seed,
                optimizer,
                schedule,
                warmup_steps,
                clip_norm,
                early_stopping,
                convergence,
                threads,
                divergence,
            },
        )
}

fn encoder_kind() -> impl Strategy<Value = EncoderKind> {
    let epsilon = prop_oneof![
        1e-6f64..1.0,
        non_negative().prop_map(|e| e.clamp(1e-9, 1e9))
    ];
    prop_oneof![
        Just(EncoderKind::Standardize),
        Just(EncoderKind::MinMax),
        epsilon
            .clone()
            .prop_map(|epsilon| EncoderKind::PcaWhitening { epsilon }),
        epsilon.prop_map(|epsilon| EncoderKind::ZcaWhitening { epsilon }),
    ]
}

/// `x` written as the files write it (a JSON value, keys sorted, as text) and read back.
fn round_trip<C: Serialize + DeserializeOwned>(x: &C) -> C {
    let text = json(x);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Equal to the bit: `Debug` writes every `f64` in its shortest round-trip form.
fn same<C: std::fmt::Debug>(a: &C, b: &C) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_config_round_trips_through_json(
        activation in activation(),
        init in init(),
        loss in loss(),
        config in fit_config(),
        divergence in divergence(),
        kind in encoder_kind(),
        dtype in proptest::sample::select(DType::NAMES.map(|(d, _)| d).to_vec()),
        seed in any::<u64>(),
    ) {
        let back = round_trip(&activation);
        prop_assert!(same(&back, &activation), "{activation} came back as {back}");
        let back = round_trip(&init);
        prop_assert!(same(&back, &init), "{init} came back as {back}");
        let back = round_trip(&loss);
        prop_assert!(same(&back, &loss), "{loss} came back as {back}");
        let back = round_trip(&config.optimizer);
        prop_assert!(same(&back, &config.optimizer), "{:?} came back as {back:?}", config.optimizer);
        let back = round_trip(&config.schedule);
        prop_assert!(same(&back, &config.schedule), "{:?} came back as {back:?}", config.schedule);
        let back = round_trip(&divergence);
        prop_assert!(same(&back, &divergence), "{divergence:?} came back as {back:?}");
        if let Some(es) = config.early_stopping {
            let back = round_trip(&es);
            prop_assert!(same(&back, &es), "{es:?} came back as {back:?}");
        }
        if let Some(c) = config.convergence {
            let back = round_trip(&c);
            prop_assert!(same(&back, &c), "{c:?} came back as {back:?}");
        }
        let back = round_trip(&config);
        prop_assert!(same(&back, &config), "{config:?} came back as {back:?}");
        let back = round_trip(&dtype);
        prop_assert_eq!(back, dtype);

        // An encoder of the kind, fitted to data of full rank, through its stored form.
        let x = DMatrix::from_fn(3, 12, |r, c| {
            let h = seed.wrapping_add((r * 12 + c) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (h >> 11) as f64 / (1u64 << 53) as f64 + r as f64 * (c % 3) as f64
        });
        let enc = Encoder::fit(kind, &x).unwrap();
        let text = enc.to_json().to_string();
        let back = Encoder::from_json_str(&text).unwrap();
        prop_assert!(same(&back, &enc), "{text}");
        prop_assert!(same(&back.kind(), &kind));
    }
}

/// The JSON text of `x` as the files write it: through a value, keys sorted.
fn json<F: Serialize>(x: &F) -> String {
    serde_json::to_value(x).unwrap().to_string()
}

/// The forms are the ones format version 1 writes, key by key.
#[test]
fn forms_are_those_of_version_1() {
    assert_eq!(json(&Activation::leaky_relu()), r#""leaky_relu(0.01)""#);
    assert_eq!(json(&Init::HeNormal { slope: 0.0 }), r#""he_normal(0)""#);
    assert_eq!(json(&Loss::Huber { delta: 1.0 }), r#""huber(1.0)""#);
    assert_eq!(json(&DType::F64), r#""f64""#);
    assert_eq!(
        json(&Optimizer::adamw(0.01)),
        r#"{"beta1":0.9,"beta2":0.999,"eps":1e-8,"lr":0.01,"name":"adamw","weight_decay":0.01}"#
    );
    assert_eq!(json(&Optimizer::sgd(0.5)), r#"{"lr":0.5,"name":"sgd"}"#);
    assert_eq!(
        json(&Schedule::Cosine {
            epochs: 4,
            min_factor: 0.1
        }),
        r#"{"epochs":4,"min_factor":0.1,"name":"cosine"}"#
    );
    assert_eq!(json(&Schedule::Constant), r#"{"name":"constant"}"#);
    assert_eq!(
        json(&Schedule::reduce_on_plateau()),
        r#"{"cooldown":0,"factor":0.1,"min_factor":0.0,"name":"reduce_on_plateau","patience":10,"threshold":0.0001}"#
    );
    assert_eq!(
        json(&FitConfig::default()),
        r#"{"batch_size":32,"clip_norm":null,"early_stopping":null,"epochs":10,"optimizer":{"beta1":0.9,"beta2":0.999,"eps":1e-8,"lr":0.001,"name":"adam"},"schedule":{"name":"constant"},"seed":0,"shuffle":true,"threads":null,"warmup_steps":0}"#
    );
    let off = FitConfig {
        divergence: Divergence::off(),
        convergence: Some(Convergence::default()),
        ..FitConfig::default()
    };
    for part in [
        r#""divergence":{"above_best":null,"growth":null,"patience":3}"#,
        r#""convergence":{"patience":11,"tol":0.0001}"#,
    ] {
        assert!(json(&off).contains(part), "{}", json(&off));
    }
    // Unknown names are refused with the valid ones listed.
    let err = serde_json::from_str::<Optimizer>(r#"{"name":"adagrad","lr":0.1}"#).unwrap_err();
    assert!(err.to_string().contains("adamw"), "{err}");
    let err = serde_json::from_str::<Optimizer>(r#"{"name":"adam","lr":0.1}"#).unwrap_err();
    assert!(err.to_string().contains("beta1"), "{err}");
    let err = serde_json::from_str::<Schedule>(r#"{"name":"linear"}"#).unwrap_err();
    assert!(err.to_string().contains("cosine"), "{err}");
    assert!(serde_json::from_str::<Loss>(r#""huber(-1)""#).is_err());
}

//! Classification and regression reports against scikit-learn: every expected number
//! below was computed once by scikit-learn 1.9.1 with `suite/reports_sklearn.py` (beside
//! this file; `classification_report(..., labels=all, zero_division=0)`, `log_loss`,
//! `roc_auc_score`, `confusion_matrix`, `mean_squared_error`, `root_mean_squared_error`,
//! `mean_absolute_error`, `r2_score` with `multioutput="raw_values"` and the default
//! average) and committed as literals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nalgebra::DMatrix;
use nn_train::metrics::{ClassificationReport, RegressionReport, roc_auc};
use nn_train::{Loss, Task, TrainError};

/// Agreement to the last few bits: the formulas are the same, the order of the sums not.
const TOL: f64 = 1e-12;

fn close(found: f64, expected: f64, what: &str) {
    assert!(
        (found - expected).abs() <= TOL * expected.abs().max(1.0),
        "{what}: {found} vs scikit-learn's {expected}"
    );
}

fn names(n: &[&str]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

/// The multi-class case: 4 classes, 10 examples. Class 2 ("virginica") is never
/// predicted (precision 0/0 → 0), class 3 ("unseen") never occurs (recall 0/0 → 0,
/// support 0, still in the macro average), and example 9's true class has probability 0
/// (clipped to ε in the log-loss).
fn multiclass() -> (DMatrix<f64>, DMatrix<f64>) {
    let p: [[f64; 4]; 10] = [
        [0.7, 0.1, 0.1, 0.1],
        [0.3, 0.4, 0.2, 0.1],
        [0.1, 0.6, 0.2, 0.1],
        [0.2, 0.5, 0.2, 0.1],
        [0.1, 0.2, 0.3, 0.4],
        [0.2, 0.5, 0.25, 0.05],
        [0.45, 0.1, 0.4, 0.05],
        [0.9, 0.05, 0.03, 0.02],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.6, 0.2, 0.2],
    ];
    let labels = [0, 0, 1, 1, 1, 2, 2, 0, 1, 0];
    let a = DMatrix::from_fn(4, 10, |r, c| p[c][r]);
    let y = DMatrix::from_fn(4, 10, |r, c| f64::from(u8::from(labels[c] == r)));
    (a, y)
}

#[test]
fn multiclass_report_matches_scikit_learn() {
    let (a, y) = multiclass();
    let classes = names(&["setosa", "versicolor", "virginica", "unseen"]);
    let task = Loss::CategoricalCrossEntropy.task();
    let r = ClassificationReport::new(task, &a, &y, Some(&classes)).unwrap();
    // (precision, recall, f1, support) per class.
    let expected = [
        (0.6666666666666666, 0.5, 0.5714285714285714, 4),
        (0.5, 0.75, 0.6, 4),
        (0.0, 0.0, 0.0, 2),
        (0.0, 0.0, 0.0, 0),
    ];
    for (c, (s, e)) in r.scores.iter().zip(expected).enumerate() {
        close(s.precision, e.0, &format!("precision of {c}"));
        close(s.recall, e.1, &format!("recall of {c}"));
        close(s.f1, e.2, &format!("f1 of {c}"));
        assert_eq!(s.support, e.3, "support of {c}");
    }
    close(r.accuracy, 0.5, "accuracy");
    close(
        r.macro_avg.precision,
        0.29166666666666663,
        "macro precision",
    );
    close(r.macro_avg.recall, 0.3125, "macro recall");
    close(r.macro_avg.f1, 0.2928571428571428, "macro f1");
    close(
        r.weighted_avg.precision,
        0.4666666666666666,
        "weighted precision",
    );
    close(r.weighted_avg.recall, 0.5, "weighted recall");
    close(r.weighted_avg.f1, 0.4685714285714285, "weighted f1");
    assert_eq!((r.macro_avg.support, r.weighted_avg.support), (10, 10));
    close(r.log_loss.unwrap(), 4.2825657462793725, "log-loss");
    assert_eq!(r.roc_auc, None, "no AUC for a multi-class task");
    assert_eq!(
        r.confusion.counts(),
        &[
            vec![2, 2, 0, 0],
            vec![0, 3, 0, 1],
            vec![1, 1, 0, 0],
            vec![0, 0, 0, 0]
        ]
    );
    assert_eq!(r.examples, 10);

    // The table: scikit-learn's rows (its `digits=4` text) and the labelled matrix.
    let text = r.to_string();
    for line in [
        "              precision    recall  f1-score   support",
        "      setosa     0.6667    0.5000    0.5714         4",
        "  versicolor     0.5000    0.7500    0.6000         4",
        "   virginica     0.0000    0.0000    0.0000         2",
        "      unseen     0.0000    0.0000    0.0000         0",
        "    accuracy                         0.5000        10",
        "   macro avg     0.2917    0.3125    0.2929        10",
        "weighted avg     0.4667    0.5000    0.4686        10",
        "log-loss: 4.2826",
        "confusion matrix (rows: actual, columns: predicted)",
        "actual \\ predicted      setosa  versicolor   virginica      unseen",
        "            setosa           2           2           0           0",
        "        versicolor           0           3           0           1",
    ] {
        assert!(text.contains(line), "no line {line:?} in\n{text}");
    }
    assert!(!text.contains("ROC AUC"), "{text}");

    // JSON: named classes, the matrix by rows.
    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(json["classes"][1]["name"], "versicolor");
    assert_eq!(json["classes"][1]["recall"], 0.75);
    assert_eq!(json["classes"][3]["support"], 0);
    assert_eq!(json["confusion_matrix"][1], serde_json::json!([0, 3, 0, 1]));
    assert_eq!(json["roc_auc"], serde_json::Value::Null);
    assert_eq!(json["accuracy"], 0.5);
    assert_eq!(json["examples"], 10);
    assert!(json["macro_avg"]["f1"].is_number());

    // Without names, the classes are numbered.
    let plain = ClassificationReport::new(task, &a, &y, None).unwrap();
    assert_eq!(plain.classes, names(&["0", "1", "2", "3"]));
}

/// Binary: 14 examples with ties in the scores (0.8 and 0.3 shared by a positive and a
/// negative, 0.6 by two positives and a negative), a score exactly at the threshold
/// (0.5: predicted positive) and a negative with p = 1 (clipped in the log-loss).
#[test]
fn binary_report_matches_scikit_learn_with_ties() {
    let p = [
        0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.6, 0.5, 0.4, 0.3, 0.3, 0.2, 0.1, 1.0,
    ];
    let labels = [
        1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0,
    ];
    let a = DMatrix::from_row_slice(1, 14, &p);
    let y = DMatrix::from_row_slice(1, 14, &labels);
    let task = Loss::BinaryCrossEntropy.task();
    let r = ClassificationReport::new(task, &a, &y, None).unwrap();
    assert_eq!(r.classes, names(&["0", "1"]));
    let expected = [
        (0.8, 0.5, 0.6153846153846154, 8),
        (
            0.5555555555555556,
            0.8333333333333334,
            0.6666666666666666,
            6,
        ),
    ];
    for (c, (s, e)) in r.scores.iter().zip(expected).enumerate() {
        close(s.precision, e.0, &format!("precision of {c}"));
        close(s.recall, e.1, &format!("recall of {c}"));
        close(s.f1, e.2, &format!("f1 of {c}"));
        assert_eq!(s.support, e.3);
    }
    close(r.accuracy, 0.6428571428571429, "accuracy");
    close(r.macro_avg.precision, 0.6777777777777778, "macro precision");
    close(r.macro_avg.recall, 0.6666666666666667, "macro recall");
    close(r.macro_avg.f1, 0.641025641025641, "macro f1");
    close(
        r.weighted_avg.precision,
        0.6952380952380953,
        "weighted precision",
    );
    close(r.weighted_avg.recall, 0.6428571428571429, "weighted recall");
    close(r.weighted_avg.f1, 0.6373626373626374, "weighted f1");
    close(r.log_loss.unwrap(), 3.0978097793879145, "log-loss");
    close(r.roc_auc.unwrap(), 0.6875, "ROC AUC");
    assert_eq!(r.confusion.counts(), &[vec![4, 4], vec![1, 5]]);
    let text = r.to_string();
    assert!(text.contains("ROC AUC: 0.6875"), "{text}");

    // The same problem as a two-class softmax: the same AUC and log-loss (scikit-learn's
    // of the two columns is the same number); the example at 0.5 is a tie, which argmax
    // gives to class 0 where the sigmoid's threshold called it positive.
    let two = DMatrix::from_fn(2, 14, |r, c| if r == 1 { p[c] } else { 1.0 - p[c] });
    let y2 = DMatrix::from_fn(
        2,
        14,
        |r, c| if r == 1 { labels[c] } else { 1.0 - labels[c] },
    );
    let r2 = ClassificationReport::new(Task::Multiclass, &two, &y2, None).unwrap();
    assert_eq!(r2.confusion.counts(), &[vec![5, 3], vec![1, 5]]);
    close(
        r2.roc_auc.unwrap(),
        0.6875,
        "ROC AUC of a two-class softmax",
    );
    close(
        r2.log_loss.unwrap(),
        3.0978097793879145,
        "log-loss of a two-class softmax",
    );

    // The same data as f32 give the same report (to f32 rounding of the scores).
    let r32 = ClassificationReport::new(task, &a.cast::<f32>(), &y.cast::<f32>(), None).unwrap();
    assert_eq!(r32.confusion, r.confusion);
    assert_eq!(r32.roc_auc, r.roc_auc);
}

/// Only negatives in the targets: the positive class has support 0 (its precision,
/// recall and F1 are 0 by `zero_division=0`) and ROC AUC is undefined.
#[test]
fn binary_report_with_a_missing_class() {
    let a = DMatrix::from_row_slice(1, 3, &[0.2, 0.7, 0.4]);
    let y = DMatrix::from_row_slice(1, 3, &[0.0, 0.0, 0.0]);
    let classes = names(&["benign", "malignant"]);
    let task = Loss::BinaryCrossEntropy.task();
    let r = ClassificationReport::new(task, &a, &y, Some(&classes)).unwrap();
    close(r.scores[0].precision, 1.0, "precision of 0");
    close(r.scores[0].recall, 0.6666666666666666, "recall of 0");
    close(r.scores[0].f1, 0.8, "f1 of 0");
    assert_eq!(
        (r.scores[1].precision, r.scores[1].recall, r.scores[1].f1),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(r.scores[1].support, 0);
    close(r.accuracy, 0.6666666666666666, "accuracy");
    close(r.macro_avg.precision, 0.5, "macro precision");
    close(r.macro_avg.recall, 0.3333333333333333, "macro recall");
    close(r.macro_avg.f1, 0.4, "macro f1");
    close(r.weighted_avg.precision, 1.0, "weighted precision");
    close(r.weighted_avg.recall, 0.6666666666666666, "weighted recall");
    close(r.weighted_avg.f1, 0.8000000000000002, "weighted f1");
    close(r.log_loss.unwrap(), 0.6459806598020454, "log-loss");
    assert_eq!(r.roc_auc, None);
    let text = r.to_string();
    assert!(
        text.contains("ROC AUC: undefined (only one class in the targets)"),
        "{text}"
    );
    assert!(text.contains("malignant"), "{text}");
    assert_eq!(
        serde_json::to_value(&r).unwrap()["roc_auc"],
        serde_json::Value::Null
    );
}

/// Margins (hinge): thresholded at 0, no log-loss, and the AUC of any monotone transform
/// of the scores is the same.
#[test]
fn hinge_margins_report_auc_without_log_loss() {
    let z = [2.0, -1.0, 0.5, -0.2, 0.0, -3.0];
    let t = [1.0, -1.0, 0.0, 1.0, 1.0, -1.0];
    let a = DMatrix::from_row_slice(1, 6, &z);
    let y = DMatrix::from_row_slice(1, 6, &t);
    let r = ClassificationReport::new(Loss::Hinge.task(), &a, &y, None).unwrap();
    assert_eq!(r.log_loss, None);
    // Predicted positive: 2.0, 0.5, 0.0; actual positive: 2.0, -0.2, 0.0.
    assert_eq!(r.confusion.counts(), &[vec![2, 1], vec![1, 2]]);
    let sigmoid: Vec<f64> = z.iter().map(|v: &f64| 1.0 / (1.0 + (-v).exp())).collect();
    let positive: Vec<bool> = t.iter().map(|&v| v > 0.0).collect();
    assert_eq!(r.roc_auc, roc_auc(&sigmoid, &positive));
    // Positives 2.0, -0.2, 0.0 against negatives -1, 0.5, -3: 7 of 9 pairs ordered.
    close(r.roc_auc.unwrap(), 7.0 / 9.0, "AUC");
}

#[test]
fn roc_auc_counts_ties_as_half_and_is_undefined_without_both_classes() {
    assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), Some(0.5));
    assert_eq!(roc_auc(&[0.1, 0.9], &[false, true]), Some(1.0));
    assert_eq!(roc_auc(&[0.1, 0.9], &[true, false]), Some(0.0));
    assert_eq!(roc_auc(&[0.1, 0.9], &[true, true]), None);
    assert_eq!(roc_auc(&[0.1, 0.9], &[false, false]), None);
    assert_eq!(roc_auc(&[0.1, f64::NAN], &[true, false]), None);
    assert_eq!(roc_auc(&[0.1], &[true, false]), None);
}

#[test]
fn bad_report_inputs_are_errors() {
    let (a, y) = multiclass();
    let task = Task::Multiclass;
    let e = ClassificationReport::new(task, &a, &y.rows(0, 3).into_owned(), None).unwrap_err();
    assert!(matches!(e, TrainError::BadShape { .. }), "{e}");
    let e = ClassificationReport::new(task, &a, &y, Some(&names(&["a", "b"]))).unwrap_err();
    assert!(e.to_string().contains("4 names"), "{e}");
    let e = ClassificationReport::new(Task::Regression, &a, &y, None).unwrap_err();
    assert!(e.to_string().contains("RegressionReport"), "{e}");
    let binary = Loss::BinaryCrossEntropy.task();
    let e = ClassificationReport::new(binary, &a, &y, None).unwrap_err();
    assert!(matches!(e, TrainError::BadShape { .. }), "{e}");
    let mut nan = a.clone();
    nan[(1, 2)] = f64::NAN;
    let e = ClassificationReport::new(task, &nan, &y, None).unwrap_err();
    assert!(matches!(e, TrainError::NonFiniteData { .. }), "{e}");
    let empty = DMatrix::<f64>::zeros(4, 0);
    let e = ClassificationReport::new(task, &empty, &empty, None).unwrap_err();
    assert!(matches!(e, TrainError::EmptyData { .. }), "{e}");
    let e = RegressionReport::new(&empty, &empty, None).unwrap_err();
    assert!(matches!(e, TrainError::EmptyData { .. }), "{e}");
    let e = RegressionReport::new(&a, &y, Some(&names(&["x"]))).unwrap_err();
    assert!(e.to_string().contains("4 names"), "{e}");
}

/// Three outputs: an ordinary one, a constant target predicted inexactly (R² = 0, as
/// scikit-learn's `force_finite=True` gives) and a constant target predicted exactly
/// (R² = 1).
#[test]
fn regression_report_matches_scikit_learn() {
    let y = DMatrix::from_row_slice(
        3,
        6,
        &[
            3.0, -0.5, 2.0, 7.0, 4.2, 1.1, //
            1.0, 1.0, 1.0, 1.0, 1.0, 1.0, //
            2.0, 2.0, 2.0, 2.0, 2.0, 2.0,
        ],
    );
    let a = DMatrix::from_row_slice(
        3,
        6,
        &[
            2.5, 0.0, 2.0, 8.0, 4.0, 1.5, //
            1.0, 1.2, 0.9, 1.0, 1.0, 1.0, //
            2.0, 2.0, 2.0, 2.0, 2.0, 2.0,
        ],
    );
    let out = names(&["price", "flat", "exact"]);
    let r = RegressionReport::new(&a, &y, Some(&out)).unwrap();
    let mse = [0.2833333333333333, 0.00833333333333333, 0.0];
    let rmse = [0.5322906474223771, 0.09128709291752767, 0.0];
    let mae = [0.43333333333333335, 0.04999999999999999, 0.0];
    let r2 = [0.9500880798590722, 0.0, 1.0];
    for (i, s) in r.outputs.iter().enumerate() {
        close(s.mse, mse[i], &format!("MSE of {i}"));
        close(s.rmse, rmse[i], &format!("RMSE of {i}"));
        close(s.mae, mae[i], &format!("MAE of {i}"));
        close(s.r2.unwrap(), r2[i], &format!("R² of {i}"));
    }
    close(r.mean.mse, 0.09722222222222221, "mean MSE");
    close(r.mean.rmse, 0.20785924677996825, "mean RMSE");
    close(r.mean.mae, 0.16111111111111112, "mean MAE");
    close(r.mean.r2.unwrap(), 0.6500293599530241, "mean R²");
    let text = r.to_string();
    for line in [
        "output         MSE        RMSE         MAE          R²",
        " price      0.2833      0.5323      0.4333      0.9501",
        "  flat      0.0083      0.0913      0.0500      0.0000",
        "  mean      0.0972      0.2079      0.1611      0.6500",
    ] {
        assert!(text.contains(line), "no line {line:?} in\n{text}");
    }
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["outputs"][2]["name"], "exact");
    assert_eq!(json["outputs"][2]["r2"], 1.0);
    assert_eq!(json["examples"], 6);
    assert!(json["mean"]["rmse"].is_number());

    // One example: R² is undefined (scikit-learn: NaN with a warning).
    let one = RegressionReport::new(
        &a.columns(0, 1).into_owned(),
        &y.columns(0, 1).into_owned(),
        None,
    )
    .unwrap();
    assert_eq!(one.outputs[0].r2, None);
    assert_eq!(one.mean.r2, None);
    assert_eq!(one.names[0], "output_0");
    assert!(one.to_string().contains("undefined"));
}

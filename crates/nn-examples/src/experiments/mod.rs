//! The experiments, one module per claim, and the registry the tour runs. Each module has
//! its `EXPERIMENT` (what the tour runs) and its `LESSON` (what the tour page teaches).

mod t01_logistic;
mod t02_depth_collapse;
mod t03_perceptrons;
mod t04_activations;
mod t05_vectorised;
mod t06_backprop;
mod t07_symmetry;
mod t08_deep_linear;
mod t09_saturation;
mod t10_init_variance;
mod t11_gradient_descent;
mod t12_parameter_sharing;
mod t13_parity;
mod t14_whitening;
mod t15_digits;

use crate::Experiment;

/// Every experiment, in claim order.
pub fn all() -> Vec<Experiment> {
    vec![
        t01_logistic::EXPERIMENT,
        t02_depth_collapse::EXPERIMENT,
        t03_perceptrons::EXPERIMENT,
        t04_activations::EXPERIMENT,
        t05_vectorised::EXPERIMENT,
        t06_backprop::EXPERIMENT,
        t07_symmetry::EXPERIMENT,
        t08_deep_linear::EXPERIMENT,
        t09_saturation::EXPERIMENT,
        t10_init_variance::EXPERIMENT,
        t11_gradient_descent::EXPERIMENT,
        t12_parameter_sharing::EXPERIMENT,
        t13_parity::EXPERIMENT,
        t14_whitening::EXPERIMENT,
        t15_digits::EXPERIMENT,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{blocks, mathml, workspace_root};

    #[test]
    fn every_lesson_renders_and_points_at_real_files() {
        let all = all();
        assert_eq!(all.len(), 15);
        for (k, e) in all.iter().enumerate() {
            assert_eq!(e.id, format!("T{}", k + 1));
            let l = e.lesson;
            let equation = mathml(l.equation, true).unwrap();
            // errors, and the double-escaped space pulldown-latex writes for `\ `
            assert!(
                !equation.contains("merror") && !equation.contains("&amp;nbsp;"),
                "{}: {equation}",
                e.id
            );
            for text in [l.claim, l.method] {
                let html = blocks(text).unwrap_or_else(|err| panic!("{}: {err}", e.id));
                assert!(
                    !html.contains("merror") && !html.contains("&amp;nbsp;"),
                    "{}: {html}",
                    e.id
                );
            }
            assert!(
                workspace_root().join(l.source).is_file(),
                "{}: {} is not a file",
                e.id,
                l.source
            );
            assert!(!l.docs.is_empty(), "{}: no docs link", e.id);
        }
    }
}

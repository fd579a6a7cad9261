//! The real data sets bundled with the examples, embedded in the binary (no file paths at
//! run time, no download): the 8×8 handwritten digits and the Wisconsin breast-cancer
//! data. Both are gzip-compressed CSV files in `crates/nn-examples/data/` (see the README
//! and licence files there); [`read_csv`] decompresses them on the fly.

use nalgebra::DMatrix;
use nn_train::data::{CsvOptions, Dataset, Targets, read_csv};

use crate::{ExampleError, Result};

const DIGITS_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");
const BREAST_CANCER_GZ: &[u8] = include_bytes!("../data/breast_cancer.csv.gz");

/// The columns of the breast-cancer file before its `label`, in file order.
pub const BREAST_CANCER_FEATURES: [&str; 30] = [
    "mean_radius",
    "mean_texture",
    "mean_perimeter",
    "mean_area",
    "mean_smoothness",
    "mean_compactness",
    "mean_concavity",
    "mean_concave_points",
    "mean_symmetry",
    "mean_fractal_dimension",
    "radius_error",
    "texture_error",
    "perimeter_error",
    "area_error",
    "smoothness_error",
    "compactness_error",
    "concavity_error",
    "concave_points_error",
    "symmetry_error",
    "fractal_dimension_error",
    "worst_radius",
    "worst_texture",
    "worst_perimeter",
    "worst_area",
    "worst_smoothness",
    "worst_compactness",
    "worst_concavity",
    "worst_concave_points",
    "worst_symmetry",
    "worst_fractal_dimension",
];

/// The 1797 digits: `X` is `(64, 1797)`, pixel counts 0–16 of an 8×8 image read row by
/// row; `Y` is one-hot `(10, 1797)`, classes `"0"` … `"9"`.
///
/// # Errors
/// [`ExampleError::Train`] if the embedded file cannot be read (not expected).
pub fn digits() -> Result<Dataset<f64>> {
    Ok(read_csv(
        DIGITS_GZ,
        "digits.csv.gz",
        &CsvOptions::default(),
    )?)
}

/// The 569 breast-cancer cases: `X` is `(30, 569)`, the features of
/// [`BREAST_CANCER_FEATURES`] (on very different scales, from ~10⁻³ to ~10³); `Y` is one
/// row of 0 (malignant) / 1 (benign).
///
/// # Errors
/// [`ExampleError::Train`] if the embedded file cannot be read (not expected).
pub fn breast_cancer() -> Result<Dataset<f64>> {
    let options = CsvOptions {
        targets: Targets::Binary,
        ..CsvOptions::default()
    };
    Ok(read_csv(
        BREAST_CANCER_GZ,
        "breast_cancer.csv.gz",
        &options,
    )?)
}

/// The breast-cancer data restricted to the named features, in the order given.
///
/// # Errors
/// [`ExampleError::Usage`] for a name not in [`BREAST_CANCER_FEATURES`].
pub fn breast_cancer_features(names: &[&str]) -> Result<Dataset<f64>> {
    let data = breast_cancer()?;
    let rows = names
        .iter()
        .map(|name| {
            BREAST_CANCER_FEATURES
                .iter()
                .position(|f| f == name)
                .ok_or_else(|| {
                    ExampleError::Usage(format!(
                        "no breast-cancer feature {name:?}; the features are {}",
                        BREAST_CANCER_FEATURES.join(", ")
                    ))
                })
        })
        .collect::<Result<Vec<usize>>>()?;
    let x = data.x();
    let selected = DMatrix::from_fn(rows.len(), x.ncols(), |i, j| x[(rows[i], j)]);
    Ok(data.with_x(selected)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_1797_images_of_64_pixels_in_ten_classes() {
        let d = digits().unwrap();
        assert_eq!(d.x().shape(), (64, 1797));
        assert_eq!(d.y().shape(), (10, 1797));
        assert!(d.x().iter().all(|&v| (0.0..=16.0).contains(&v)));
        // every class has between 174 and 183 examples (the data set's README)
        let labels = d.labels().unwrap();
        for c in 0..10 {
            let n = labels.iter().filter(|&&l| l == c).count();
            assert!((174..=183).contains(&n), "class {c}: {n}");
        }
        // the first row of the file is a 0
        assert_eq!(labels[0], 0);
        assert_eq!(d.x()[(2, 0)], 5.0);
    }

    #[test]
    fn breast_cancer_has_569_cases_and_the_named_columns() {
        let d = breast_cancer().unwrap();
        assert_eq!(d.x().shape(), (30, 569));
        assert_eq!(d.y().shape(), (1, 569));
        // 212 malignant (0), 357 benign (1), as documented with the data set
        let benign = d.y().iter().filter(|&&v| v == 1.0).count();
        assert_eq!(benign, 357);
        // the first data row of the file: mean_radius 17.99, mean_texture 10.38,
        // mean_smoothness 0.1184, worst_fractal_dimension 0.1189
        let sel = breast_cancer_features(&[
            "mean_radius",
            "mean_texture",
            "mean_smoothness",
            "worst_fractal_dimension",
        ])
        .unwrap();
        assert_eq!(sel.x().shape(), (4, 569));
        assert_eq!(
            sel.x().column(0).as_slice(),
            &[17.99, 10.38, 0.1184, 0.1189]
        );
        assert!(matches!(
            breast_cancer_features(&["mean_colour"]),
            Err(ExampleError::Usage(_))
        ));
    }
}

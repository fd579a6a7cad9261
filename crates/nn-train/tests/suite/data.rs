//! Data sets, generators, CSV and IDX loading, and encoders: shapes, seeds, every bad-input
//! case with the location its error names, and loaders fed random bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;

use nalgebra::DMatrix;
use nn_train::data::{
    CsvOptions, Dataset, LabelColumn, Targets, load_csv, load_mnist, one_hot, parse_idx, read_csv,
    read_csv_features, split_rows, synthetic,
};
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::*;
use proptest::prelude::*;

/// A path in the temp directory unique to this process and test.
pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("nn-train-test-{}-{name}", std::process::id()))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

mod dataset {
    use super::*;

    /// Features are the example's index, so that a split can be traced back.
    fn indexed(labels: &[usize], classes: usize) -> Dataset<f64> {
        let feats: Vec<f64> = (0..labels.len()).map(|i| i as f64).collect();
        Dataset::from_labels(&feats, 1, labels, classes).unwrap()
    }

    fn ids(d: &Dataset<f64>) -> Vec<usize> {
        d.x().iter().map(|&v| v as usize).collect()
    }

    #[test]
    fn rows_become_columns() {
        let d =
            Dataset::<f64>::from_rows(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, &[7.0, 8.0], 1).unwrap();
        assert_eq!(d.x().shape(), (3, 2));
        assert_eq!(d.x().column(1).as_slice(), &[4.0, 5.0, 6.0]);
        assert_eq!(d.y().as_slice(), &[7.0, 8.0]);
        let bad = Dataset::<f64>::from_rows(&[1.0, 2.0, 3.0], 2, &[1.0], 1).unwrap_err();
        assert!(
            matches!(
                bad,
                TrainError::BadInput {
                    what: "features",
                    ..
                }
            ),
            "{bad}"
        );
        let mismatch = Dataset::<f64>::from_rows(&[1.0, 2.0], 1, &[1.0], 1).unwrap_err();
        assert_eq!(
            mismatch,
            TrainError::BadShape {
                what: "targets Y",
                expected: (1, 2),
                found: (1, 1),
            }
        );
        let nan = Dataset::<f64>::from_rows(&[1.0, f64::NAN], 1, &[1.0, 0.0], 1).unwrap_err();
        assert!(
            matches!(nan, TrainError::NonFiniteData { col: 1, .. }),
            "{nan}"
        );
    }

    #[test]
    fn one_hot_names_the_example_whose_label_is_out_of_range() {
        let y = one_hot::<f32>(&[1, 0, 2], 3).unwrap();
        assert_eq!(y.as_slice(), &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        let e = one_hot::<f64>(&[0, 1, 3, 0], 3).unwrap_err();
        assert_eq!(
            e,
            TrainError::Data(DataError::LabelOutOfRange {
                index: 2,
                label: 3,
                classes: 3
            })
        );
        assert!(e.to_string().contains("example 2"), "{e}");
    }

    #[test]
    fn shuffling_is_a_seeded_permutation() {
        let d = indexed(&[0; 50], 1);
        let a = d.shuffled(3);
        assert_eq!(a, d.shuffled(3));
        assert_ne!(ids(&a), ids(&d.shuffled(4)));
        let mut sorted = ids(&a);
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(ids(&a), sorted);
    }

    #[test]
    fn stratified_split_keeps_each_class_in_proportion() {
        // 60 of class 0, 30 of class 1, 10 of class 2.
        let labels: Vec<usize> = (0..100)
            .map(|i| {
                if i < 60 {
                    0
                } else if i < 90 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let d = indexed(&labels, 3);
        let (train, test) = d.split_stratified(0.2, 9).unwrap();
        let count =
            |d: &Dataset<f64>, c: usize| d.labels().unwrap().iter().filter(|&&l| l == c).count();
        assert_eq!(
            [count(&test, 0), count(&test, 1), count(&test, 2)],
            [12, 6, 2]
        );
        assert_eq!(
            [count(&train, 0), count(&train, 1), count(&train, 2)],
            [48, 24, 8]
        );
        let mut all = ids(&train);
        all.extend(ids(&test));
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>(), "disjoint and complete");
        assert_eq!(
            d.split_stratified(0.2, 9).unwrap(),
            (train.clone(), test.clone()),
            "seeded"
        );
        // The same split as row indices, for data that is not a Dataset yet.
        let (train_rows, test_rows) = split_rows(100, Some(&labels), 0.2, 9).unwrap();
        assert_eq!((train_rows, test_rows), (ids(&train), ids(&test)));
        let plain = d.split(0.3, 4).unwrap();
        assert_eq!(
            split_rows(100, None, 0.3, 4).unwrap(),
            (ids(&plain.0), ids(&plain.1))
        );
        assert!(matches!(
            split_rows(3, Some(&[0, 1]), 0.5, 0),
            Err(TrainError::BadInput { .. })
        ));

        let s = d.split_stratified3(0.1, 0.2, 1).unwrap();
        assert_eq!(
            (s.train.len(), s.validation.len(), s.test.len()),
            (70, 10, 20)
        );
        assert_eq!(count(&s.validation, 2), 1);

        let e = d.split_stratified(1.0, 0).unwrap_err();
        assert!(matches!(
            e,
            TrainError::InvalidConfig {
                what: "split fractions",
                ..
            }
        ));
        let tiny = indexed(&[0, 1], 2);
        let e = tiny.split_stratified(0.1, 0).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let regression = Dataset::<f64>::from_rows(&[1.0, 2.0], 1, &[0.5, 2.0], 1).unwrap();
        let e = regression.split_stratified(0.5, 0).unwrap_err();
        assert!(matches!(e, TrainError::BadTarget { col: 0, .. }), "{e}");
        assert_eq!(regression.split(0.5, 0).unwrap().1.len(), 1);
    }

    #[test]
    fn chunks_are_consecutive_views_of_every_example() {
        let d = indexed(&[0; 10], 1);
        let seen: Vec<usize> = d
            .chunks(4)
            .unwrap()
            .flat_map(|(x, _)| x.iter().map(|&v| v as usize).collect::<Vec<_>>())
            .collect();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        let chunks: Vec<usize> = d.chunks(4).unwrap().map(|(x, _)| x.ncols()).collect();
        assert_eq!(chunks, [4, 4, 2]);
        assert!(d.chunks(0).is_err());
    }
}

mod features_only {
    use super::*;

    #[test]
    fn features_with_or_without_the_label_column() {
        let text = "a,b,label\n1,2,x\n3,4,y\n";
        let none = CsvOptions {
            label: LabelColumn::None,
            ..CsvOptions::default()
        };
        // every column is a feature: the label text is not a number
        let err = read_csv_features::<f64, _>(text.as_bytes(), "t.csv", &none).unwrap_err();
        assert!(
            matches!(
                &err,
                TrainError::Data(DataError::Csv {
                    line: 2,
                    column: Some(3),
                    ..
                })
            ),
            "{err}"
        );
        // the label column named is dropped
        let named = CsvOptions {
            label: LabelColumn::Name("label".into()),
            ..CsvOptions::default()
        };
        let x = read_csv_features::<f64, _>(text.as_bytes(), "t.csv", &named).unwrap();
        assert_eq!(x, DMatrix::from_row_slice(2, 2, &[1.0, 3.0, 2.0, 4.0]));
        let x = read_csv_features::<f32, _>(
            "1,2\n3,4\n".as_bytes(),
            "u.csv",
            &CsvOptions {
                has_header: false,
                ..none.clone()
            },
        )
        .unwrap();
        assert_eq!(x.shape(), (2, 2));
        // a data set needs its labels
        let err = read_csv::<f64, _>(text.as_bytes(), "t.csv", &none).unwrap_err();
        assert!(err.to_string().contains("read_csv_features"), "{err}");
    }
}

mod generators {
    use super::*;

    #[test]
    fn generators_are_seeded_and_shaped() {
        let cases: Vec<(Dataset<f64>, usize, usize)> = vec![
            (synthetic::two_circles(40, 0.5, 0.05, 1).unwrap(), 2, 1),
            (synthetic::two_moons(40, 0.1, 1).unwrap(), 2, 1),
            (synthetic::spirals(20, 3, 0.2, 1).unwrap(), 2, 3),
            (
                synthetic::blobs(10, &[vec![0.0, 0.0, 0.0], vec![5.0, 5.0, 5.0]], 1.0, 1).unwrap(),
                3,
                2,
            ),
            (synthetic::triangle(40, 1).unwrap(), 2, 1),
        ];
        for (d, features, outputs) in &cases {
            assert_eq!((d.n_features(), d.n_outputs()), (*features, *outputs));
            assert!(d.labels().is_ok());
        }
        assert_eq!(
            cases[0].0,
            synthetic::two_circles(40, 0.5, 0.05, 1).unwrap()
        );
        assert_ne!(
            cases[0].0,
            synthetic::two_circles(40, 0.5, 0.05, 2).unwrap()
        );
        assert_eq!(cases[2].0.len(), 60);
        // Balanced classes for the two-class ring and moon problems.
        let ones = cases[1].0.y().iter().filter(|&&v| v == 1.0).count();
        assert_eq!(ones, 20);
        // Without noise, circle points lie exactly on their radius.
        let c = synthetic::two_circles(10, 0.3, 0.0, 4).unwrap();
        for j in 0..10 {
            let r = c.x().column(j).norm();
            let want = if c.y()[(0, j)] == 1.0 { 0.3 } else { 1.0 };
            assert!((r - want).abs() < 1e-12);
        }
        assert!(synthetic::two_moons(0, 0.1, 0).is_err());
        assert!(synthetic::two_moons(10, -1.0, 0).is_err());
        assert!(synthetic::spirals(10, 1, 0.0, 0).is_err());
        assert!(synthetic::blobs(10, &[vec![0.0], vec![0.0, 1.0]], 1.0, 0).is_err());
    }

    #[test]
    fn triangle_labels_are_inside_points_and_parity_counts_ones() {
        let t = synthetic::triangle(200, 3).unwrap();
        let inside = t.y().iter().filter(|&&v| v == 1.0).count();
        assert!(inside > 40 && inside < 120, "{inside}"); // area 1.12 of 4
        assert!(synthetic::inside_triangle([0.0, 0.0]));
        assert!(!synthetic::inside_triangle([0.9, 0.9]));
        let p = synthetic::parity(3).unwrap();
        assert_eq!(p.len(), 8);
        assert_eq!(p.y().as_slice(), &[0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
        assert_eq!(p.x().column(6).as_slice(), &[0.0, 1.0, 1.0]);
        assert!(synthetic::parity(0).is_err() && synthetic::parity(21).is_err());
        let x = synthetic::xor();
        assert_eq!(x.x().column(2).as_slice(), &[1.0, 0.0]);
    }
}

mod csv {
    use super::*;

    fn read(text: &str, options: &CsvOptions) -> Result<Dataset<f64>> {
        read_csv(text.as_bytes(), "t.csv", options)
    }

    /// The (line, column, text) an error names.
    fn place(e: &TrainError) -> (u64, Option<usize>, String) {
        match e {
            TrainError::Data(DataError::Csv {
                line, column, text, ..
            }) => (*line, *column, text.clone()),
            other => panic!("expected a CSV error, got {other:?}"),
        }
    }

    #[test]
    fn string_labels_by_name_with_header() {
        let text = "a,species,b\n1,cat,2\n3,dog,4\n5,cat,6\n";
        let options = CsvOptions {
            label: LabelColumn::Name("species".into()),
            ..CsvOptions::default()
        };
        let d = read(text, &options).unwrap();
        assert_eq!(
            d.x(),
            &DMatrix::from_row_slice(2, 3, &[1.0, 3.0, 5.0, 2.0, 4.0, 6.0])
        );
        assert_eq!(
            d.y(),
            &DMatrix::from_row_slice(2, 3, &[1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
        );
        assert_eq!(d.class_names().unwrap(), ["cat", "dog"]);
    }

    #[test]
    fn integer_labels_first_without_header_and_gzip() {
        let text = "2,0.5,0.25\n0,1,1\n";
        let options = CsvOptions {
            has_header: false,
            label: LabelColumn::First,
            ..CsvOptions::default()
        };
        let d = read(text, &options).unwrap();
        assert_eq!(d.n_outputs(), 3, "labels 0..=2");
        assert_eq!(d.labels().unwrap(), [2, 0]);
        let path = temp_path("int.csv.gz");
        std::fs::write(&path, gzip(text.as_bytes())).unwrap();
        let z = load_csv::<f64>(&path, &options).unwrap();
        assert_eq!(z, d);
        std::fs::remove_file(&path).unwrap();
        // Binary targets: one row of 0/1. Regression: the numbers.
        let bin = read(
            "x,y\n1,no\n2,yes\n",
            &CsvOptions {
                targets: Targets::Binary,
                ..CsvOptions::default()
            },
        )
        .unwrap();
        assert_eq!(bin.y().as_slice(), &[0.0, 1.0]);
        let reg = read(
            "x,y\n1,-2.5\n2,1e3\n",
            &CsvOptions {
                targets: Targets::Regression,
                label: LabelColumn::Index(1),
                ..CsvOptions::default()
            },
        )
        .unwrap();
        assert_eq!(reg.y().as_slice(), &[-2.5, 1000.0]);
        // A test file mapped with the training file's classes.
        let fixed = CsvOptions {
            classes: Some(vec!["dog".into(), "cat".into()]),
            ..CsvOptions::default()
        };
        assert_eq!(read("x,s\n1,cat\n", &fixed).unwrap().labels().unwrap(), [1]);
    }

    #[test]
    fn every_bad_input_names_line_column_and_text() {
        let d = CsvOptions::default();
        /// Input, options, the (line, column, text) the error must name, words it must say.
        type Case<'a> = (&'a str, CsvOptions, (u64, Option<usize>, &'a str), &'a str);
        let cases: &[Case<'_>] = &[
            (
                "a,b\n1,2\n3\n",
                d.clone(),
                (3, None, "3"),
                "expected 2 fields",
            ),
            ("", d.clone(), (0, None, ""), "empty"),
            ("a,b\n", d.clone(), (1, None, ""), "no data rows"),
            (
                "a,b\n1,0\n,1\n",
                d.clone(),
                (3, Some(1), ""),
                "missing value",
            ),
            (
                "a,b\n1,0\n2,0\nx7,1\n",
                d.clone(),
                (4, Some(1), "x7"),
                "expected a number",
            ),
            ("a,b,c\n1,inf,0\n", d.clone(), (2, Some(2), "inf"), "finite"),
            ("a,b\nNaN,0\n", d.clone(), (2, Some(1), "NaN"), "finite"),
            (
                "a,b\n1,0\n",
                CsvOptions {
                    label: LabelColumn::Name("label".into()),
                    ..d.clone()
                },
                (1, None, "label"),
                "no column",
            ),
            (
                "a,b\n1,0\n",
                CsvOptions {
                    label: LabelColumn::Index(5),
                    ..d.clone()
                },
                (1, None, "5"),
                "out of range",
            ),
            (
                "a,b\n1,cat\n2,emu\n",
                CsvOptions {
                    classes: Some(vec!["cat".into(), "dog".into()]),
                    ..d.clone()
                },
                (3, Some(2), "emu"),
                "unknown class",
            ),
            (
                "a,b\n1,x\n",
                CsvOptions {
                    targets: Targets::Regression,
                    ..d.clone()
                },
                (2, Some(2), "x"),
                "numeric target",
            ),
            (
                "a,b\n1,x\n2,y\n3,z\n",
                CsvOptions {
                    targets: Targets::Binary,
                    ..d.clone()
                },
                (2, Some(2), "x, y, z"),
                "at most two classes",
            ),
            ("b\n1\n", d.clone(), (2, None, ""), "only a label column"),
        ];
        for (text, options, (line, column, found), words) in cases {
            let e = read(text, options).unwrap_err();
            assert_eq!(
                place(&e),
                (*line, *column, found.to_string()),
                "{text:?}: {e}"
            );
            assert!(e.to_string().contains(words), "{text:?}: {e}");
            assert!(e.to_string().starts_with("t.csv, line"), "{e}");
        }
        // f32 range: 1e39 is finite in f64 but not in f32.
        let e = read_csv::<f32, _>("a,b\n1e39,0\n".as_bytes(), "t.csv", &d).unwrap_err();
        assert_eq!(place(&e), (2, Some(1), "1e39".into()));
        // Invalid UTF-8 and broken gzip name the line.
        let e = read_csv::<f64, _>(&b"a,b\n1,\xff\xfe\n"[..], "t.csv", &d).unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
        let mut gz = gzip(b"a,b\n1,0\n2,1\n");
        gz.truncate(gz.len() - 6);
        assert!(read_csv::<f64, _>(gz.as_slice(), "t.csv.gz", &d).is_err());
        let e = load_csv::<f64>(&temp_path("missing.csv"), &d).unwrap_err();
        assert!(matches!(e, TrainError::Io { .. }), "{e}");
    }
}

mod idx {
    use super::*;

    /// An IDX file of unsigned bytes with the given dimensions and data.
    pub fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 0x08, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    fn offset(e: &TrainError) -> u64 {
        match e {
            TrainError::Data(DataError::Idx { offset, .. }) => *offset,
            other => panic!("expected an IDX error, got {other:?}"),
        }
    }

    #[test]
    fn mnist_pair_loads_raw_and_gzip() {
        // Three 2×2 images: pixel values 0, 51, 102, 255 …
        let pixels: Vec<u8> = vec![0, 51, 102, 255, 1, 2, 3, 4, 255, 255, 0, 0];
        let images = idx_bytes(&[3, 2, 2], &pixels);
        let labels = idx_bytes(&[3], &[7, 0, 9]);
        let (ip, lp) = (temp_path("img.idx.gz"), temp_path("lab.idx"));
        std::fs::write(&ip, gzip(&images)).unwrap();
        std::fs::write(&lp, &labels).unwrap();
        let d = load_mnist::<f32>(&ip, &lp).unwrap();
        assert_eq!(d.x().shape(), (4, 3));
        assert_eq!(d.x().column(0).as_slice(), &[0.0, 0.2, 0.4, 1.0]);
        assert_eq!(d.labels().unwrap(), [7, 0, 9]);
        assert_eq!(d.n_outputs(), 10);

        // Label 10 is out of range; counts must agree.
        std::fs::write(&lp, idx_bytes(&[3], &[7, 10, 9])).unwrap();
        let e = load_mnist::<f32>(&ip, &lp).unwrap_err();
        assert_eq!(
            e,
            TrainError::Data(DataError::LabelOutOfRange {
                index: 1,
                label: 10,
                classes: 10
            })
        );
        std::fs::write(&lp, idx_bytes(&[2], &[7, 1])).unwrap();
        let e = load_mnist::<f32>(&ip, &lp).unwrap_err();
        assert!(e.to_string().contains("expected 3 labels"), "{e}");
        // Images and labels swapped: wrong number of dimensions.
        std::fs::write(&lp, &labels).unwrap();
        let e = load_mnist::<f32>(&lp, &ip).unwrap_err();
        assert!(e.to_string().contains("expected 3 dimensions"), "{e}");
        std::fs::remove_file(&ip).unwrap();
        std::fs::remove_file(&lp).unwrap();
    }

    #[test]
    fn malformed_files_name_the_byte_offset() {
        let good = idx_bytes(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        assert_eq!(parse_idx(&good, "g").unwrap().dims, [2, 3]);
        let mut bad_magic = good.clone();
        bad_magic[1] = 7;
        let mut bad_type = good.clone();
        bad_type[2] = 0x0d;
        let mut trailing = good.clone();
        trailing.push(0);
        let cases: Vec<(Vec<u8>, u64, &str)> = vec![
            (vec![0, 0], 2, "magic"),
            (bad_magic, 0, "not an IDX file"),
            (bad_type, 2, "unsigned byte"),
            (good[..9].to_vec(), 9, "inside the header"),
            (good[..14].to_vec(), 14, "truncated"),
            (trailing, 18, "trailing bytes"),
            (vec![0, 0, 8, 0], 3, "at least one dimension"),
        ];
        for (bytes, at, words) in cases {
            let e = parse_idx(&bytes, "f.idx").unwrap_err();
            assert_eq!(offset(&e), at, "{e}");
            assert!(e.to_string().contains(words), "{e}");
            assert!(e.to_string().starts_with("f.idx, byte offset"), "{e}");
        }
        // A huge declared size is compared with the data, not allocated.
        let huge = idx_bytes(&[u32::MAX, u32::MAX, u32::MAX], &[0; 8]);
        assert!(parse_idx(&huge, "h").is_err());
    }
}

mod encoders {
    use super::*;

    /// Correlated 3-feature data with very different scales.
    fn correlated(m: usize) -> DMatrix<f64> {
        let d = synthetic::blobs(m, &[vec![0.0, 0.0, 0.0]], 1.0, 11).unwrap();
        let x = d.x();
        let mix =
            DMatrix::from_row_slice(3, 3, &[1.0, 0.0, 0.0, 2.0, 0.5, 0.0, 100.0, -30.0, 10.0]);
        let mut y = mix * x;
        y.row_mut(2).add_scalar_mut(1000.0);
        y
    }

    fn covariance(z: &DMatrix<f64>) -> DMatrix<f64> {
        let m = z.ncols() as f64;
        let mut c = z.clone();
        for mut row in c.row_iter_mut() {
            let mu = row.sum() / m;
            row.add_scalar_mut(-mu);
        }
        &c * c.transpose() / m
    }

    #[test]
    fn whitened_training_data_has_identity_covariance() {
        let x = correlated(200);
        for kind in [
            EncoderKind::PcaWhitening { epsilon: 0.0 },
            EncoderKind::ZcaWhitening { epsilon: 0.0 },
            EncoderKind::ZcaWhitening { epsilon: 1e-14 },
        ] {
            let (enc, z) = Encoder::fit_transform(kind, &x).unwrap();
            let err = (covariance(&z) - DMatrix::identity(3, 3)).amax();
            assert!(err < 1e-9, "{kind}: covariance off identity by {err:e}");
            let back = enc.inverse_transform(&z).unwrap();
            let rel = (&back - &x).amax() / x.amax();
            assert!(rel < 1e-12, "{kind}: inverse round trip {rel:e}");
        }
        // ZCA is the symmetric whitening: it keeps the axes (correlation with the input).
        let (_, z) =
            Encoder::fit_transform(EncoderKind::ZcaWhitening { epsilon: 0.0 }, &x).unwrap();
        let corr = |a: usize| {
            let (u, v) = (x.row(a).into_owned(), z.row(a).into_owned());
            let (mu, mv) = (u.mean(), v.mean());
            u.add_scalar(-mu).dot(&v.add_scalar(-mv))
        };
        assert!((0..3).all(|a| corr(a) > 0.0));
    }

    #[test]
    fn singular_covariance_is_an_error_unless_regularised() {
        // The third feature is the sum of the first two.
        let mut x = correlated(50);
        let sum = x.row(0) + x.row(1);
        x.set_row(2, &sum);
        let e = Encoder::fit(EncoderKind::PcaWhitening { epsilon: 0.0 }, &x).unwrap_err();
        assert!(
            matches!(e, TrainError::Data(DataError::SingularCovariance { .. })),
            "{e}"
        );
        let enc = Encoder::fit(EncoderKind::PcaWhitening { epsilon: 1e-3 }, &x).unwrap();
        assert!(enc.transform(&x).unwrap().iter().all(|v| v.is_finite()));
        assert!(Encoder::fit(EncoderKind::ZcaWhitening { epsilon: -1.0 }, &x).is_err());
    }

    #[test]
    fn standardize_and_min_max_with_constant_features() {
        let x = DMatrix::from_row_slice(
            3,
            4,
            &[
                1.0, 2.0, 3.0, 6.0, //
                0.1, 0.1, 0.1, 0.1, // constant (and not exactly representable)
                -5.0, 5.0, -5.0, 5.0,
            ],
        );
        let (enc, z) = Encoder::fit_transform(EncoderKind::Standardize, &x).unwrap();
        for r in [0, 2] {
            let row = z.row(r);
            let mean = row.mean();
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 4.0;
            assert!(
                mean.abs() < 1e-15 && (var - 1.0).abs() < 1e-12,
                "row {r}: {mean} {var}"
            );
        }
        assert!(
            z.row(1).iter().all(|&v| v.abs() < 1e-15),
            "constant → 0: {}",
            z.row(1)
        );
        assert!((enc.inverse_transform(&z).unwrap() - &x).amax() < 1e-14);
        let (mm, z) = Encoder::fit_transform(EncoderKind::MinMax, &x).unwrap();
        assert_eq!(
            z.row(0).iter().copied().collect::<Vec<_>>(),
            [0.0, 0.2, 0.4, 1.0]
        );
        assert_eq!(z.row(1).iter().copied().fold(0.0, f64::max), 0.0);
        assert!((mm.inverse_transform(&z).unwrap() - &x).amax() < 1e-14);
        // Fitted on training data only: applied to new data with the training statistics.
        let new = DMatrix::from_column_slice(3, 1, &[11.0, 0.1, 5.0]);
        assert_eq!(mm.transform(&new).unwrap()[(0, 0)], 2.0);
        let e = mm.transform(&DMatrix::<f64>::zeros(2, 1)).unwrap_err();
        assert!(matches!(e, TrainError::BadShape { .. }), "{e}");
        // f32 data goes through the same f64 statistics.
        let z64 = enc.transform(&x).unwrap();
        let z32 = enc.transform(&x.map(|v| v as f32)).unwrap();
        assert!(
            z32.iter()
                .zip(z64.iter())
                .all(|(a, b)| (f64::from(*a) - b).abs() < 1e-6)
        );
    }

    #[test]
    fn encoder_json_round_trips_bit_for_bit() {
        let x = correlated(40);
        for kind in [
            EncoderKind::Standardize,
            EncoderKind::MinMax,
            EncoderKind::PcaWhitening { epsilon: 1e-7 },
            EncoderKind::ZcaWhitening { epsilon: 0.1 },
        ] {
            let enc = Encoder::fit(kind, &x).unwrap();
            let text = enc.to_json().to_string();
            let back = Encoder::from_json(&serde_json::from_str(&text).unwrap()).unwrap();
            assert_eq!(back, enc, "{kind}");
            let (a, b) = (enc.transform(&x).unwrap(), back.transform(&x).unwrap());
            assert!(
                a.iter()
                    .zip(b.iter())
                    .all(|(p, q)| p.to_bits() == q.to_bits())
            );
        }
        let bad: serde_json::Value =
            serde_json::json!({"kind": "whiten", "shift": [0.0], "scale": [1.0]});
        let e = Encoder::from_json(&bad).unwrap_err();
        assert!(e.to_string().contains("\"whiten\""), "{e}");
        let short: serde_json::Value = serde_json::json!({"kind": "zca_whitening", "epsilon": 0.0, "shift": [0.0, 1.0], "matrix": [1.0], "inverse": [1.0]});
        assert!(Encoder::from_json(&short).is_err());
    }
}

mod fuzz {
    use super::*;

    fn valid_csv() -> Vec<u8> {
        b"a,b,label\n1.5,2,cat\n-3,4e-2,dog\n5,6,cat\n".to_vec()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Random bytes never panic the CSV loader; whatever it accepts is a consistent
        /// data set.
        #[test]
        fn csv_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(d) = read_csv::<f64, _>(bytes.as_slice(), "r", &CsvOptions::default()) {
                prop_assert_eq!(d.x().ncols(), d.y().ncols());
                prop_assert!(d.x().iter().all(|v| v.is_finite()));
            }
        }

        /// Truncated CSV (plain or gzip) never panics; a cut inside the gzip stream is an
        /// error.
        #[test]
        fn csv_truncations_never_panic(cut in 0usize..60, gz in any::<bool>()) {
            let full = if gz { gzip(&valid_csv()) } else { valid_csv() };
            let cut = cut.min(full.len());
            let r = read_csv::<f64, _>(&full[..cut], "r", &CsvOptions::default());
            if gz && cut < full.len() {
                prop_assert!(r.is_err());
            }
        }

        /// Random bytes and truncations of a valid IDX file are errors, never panics.
        #[test]
        fn idx_random_bytes_and_truncations_are_errors(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            cut in 0usize..22,
            gz in any::<bool>(),
        ) {
            prop_assert!(parse_idx(&bytes, "r").is_err() || bytes.get(..3) == Some(&[0, 0, 8][..]));
            let good = idx::idx_bytes(&[2, 3, 2], &[9; 12]);
            let full = if gz { gzip(&good) } else { good };
            let cut = cut.min(full.len() - 1);
            prop_assert!(parse_idx(&full[..cut], "t").is_err());
        }
    }
}

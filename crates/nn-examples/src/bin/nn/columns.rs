//! Naming a column on the command line: `--label species` or `--label '#4'`, and a
//! did-you-mean when a name is not in the header.

use std::fmt;
use std::str::FromStr;

/// A column named by the user: by its header name, or by its 0-based position written
/// `#index` (a bare number is a name, so a column called `0` can be chosen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRef {
    /// The column whose header is this name (exactly, case included).
    Name(String),
    /// The column at this 0-based position.
    Index(usize),
}

impl FromStr for ColumnRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix('#') {
            Some(index) => index.parse().map(ColumnRef::Index).map_err(|_| {
                format!("expected `#` followed by a 0-based column index, found `{s}`")
            }),
            None if s.is_empty() => Err("expected a column name or #index, found nothing".into()),
            None => Ok(ColumnRef::Name(s.to_string())),
        }
    }
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnRef::Name(n) => write!(f, "`{n}`"),
            ColumnRef::Index(i) => write!(f, "#{i}"),
        }
    }
}

impl ColumnRef {
    /// The column's position in `header`, or an error that lists the header and suggests
    /// the closest name.
    pub fn resolve(&self, header: &[String], file: &str) -> Result<usize, String> {
        match self {
            ColumnRef::Index(i) if *i < header.len() => Ok(*i),
            ColumnRef::Index(i) => Err(format!(
                "{file}: no column #{i}: the file has {} columns (#0 to #{})",
                header.len(),
                header.len().saturating_sub(1)
            )),
            ColumnRef::Name(name) => header.iter().position(|h| h == name).ok_or_else(|| {
                let hint = did_you_mean(name, header)
                    .map_or(String::new(), |s| format!("; did you mean `{s}`?"));
                format!(
                    "{file}: no column named `{name}`{hint} (columns: {})",
                    list(header)
                )
            }),
        }
    }
}

/// The header's names, quoted, all of them (long headers shortened in the middle).
fn list(header: &[String]) -> String {
    const SHOWN: usize = 12;
    let quoted: Vec<String> = header.iter().map(|h| format!("`{h}`")).collect();
    if quoted.len() <= SHOWN {
        quoted.join(", ")
    } else {
        format!(
            "{}, … {} more …, {}",
            quoted[..SHOWN / 2].join(", "),
            quoted.len() - SHOWN,
            quoted[quoted.len() - SHOWN / 2..].join(", ")
        )
    }
}

/// The candidate closest to `wanted`: equal ignoring case, else the smallest edit
/// distance if it is at most a third of the name's length (at least 1).
pub fn did_you_mean<'a>(wanted: &str, candidates: &'a [String]) -> Option<&'a str> {
    let lower = wanted.to_lowercase();
    if let Some(c) = candidates.iter().find(|c| c.to_lowercase() == lower) {
        return Some(c);
    }
    let limit = (wanted.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Levenshtein distance between `a` and `b`, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn parses_names_and_indices() {
        assert_eq!("0".parse(), Ok(ColumnRef::Name("0".into())));
        assert_eq!("#3".parse(), Ok(ColumnRef::Index(3)));
        assert!("#x".parse::<ColumnRef>().is_err());
        assert!("".parse::<ColumnRef>().is_err());
    }

    #[test]
    fn suggests_case_and_typos() {
        let h = names(&["sepal_length", "petal_width", "species"]);
        assert_eq!(did_you_mean("Species", &h), Some("species"));
        assert_eq!(did_you_mean("specis", &h), Some("species"));
        assert_eq!(did_you_mean("colour", &h), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn resolve_lists_every_column() {
        let h = names(&["a", "b", "label", "d"]);
        let e = ColumnRef::Name("Label".into())
            .resolve(&h, "f.csv")
            .unwrap_err();
        assert!(e.contains("did you mean `label`"), "{e}");
        assert!(e.contains("`d`"), "{e}");
        assert_eq!(ColumnRef::Index(3).resolve(&h, "f.csv"), Ok(3));
        assert!(ColumnRef::Index(4).resolve(&h, "f.csv").is_err());
    }
}

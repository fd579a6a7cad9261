//! Raw tables: named columns of text as a CSV file gives them, with missing values
//! recognised, before any column is turned into numbers.
//!
//! A [`Table`] is what a preprocessing pipeline (see [`crate::pipeline`]) is fitted on and
//! applied to: every column keeps its text, each cell is either a value or missing, and a
//! column's [`ColumnKind`] says whether every value is a number.
//!
//! Reading rules ([`read_table`], [`load_table`]):
//!
//! - The first row names the columns ([`TableOptions::has_header`]; without a header they are
//!   named `#0`, `#1`, …); names must be distinct (a UTF-8 byte-order mark before the
//!   first field is dropped). Every row has as many
//!   fields as the header; blank lines are skipped; fields are trimmed of surrounding
//!   ASCII whitespace.
//! - The delimiter is given, or detected from the header line ([`Delimiter::Auto`]): the
//!   one of `,` `;` tab that occurs most often outside double quotes, ties going to the
//!   earlier of `,` `;` tab, and `,` when none occurs (a one-column file).
//! - A cell is missing when its trimmed text equals one of [`TableOptions::missing`]
//!   exactly. The comparison is case-sensitive: the default list
//!   ([`DEFAULT_MISSING`]: empty, `NA`, `N/A`, `nan`, `NaN`, `null`, `?`) spells out the
//!   variants it accepts, so that a category such as `Na` (sodium) or `none` stays a value.
//! - Line numbers in errors are 1-based, counted by `\n`, so LF and CRLF files give the
//!   same numbers; a record is reported at the line it starts on.
//! - gzip-compressed input (recognised by its magic bytes) is decompressed on the fly
//!   (feature `gzip`).
//! - Sizes are bounded before they are allocated: at most [`MAX_TABLE_COLUMNS`] columns,
//!   at most [`TableOptions::max_cells`] cells (rows × columns); a hostile file is an
//!   error, never a panic or a runaway allocation. A cell costs 4 bytes (an index into its
//!   column's distinct values) plus, once per distinct value, its text.
//!
//! ```
//! use nn_train::data::{read_table, ColumnKind, TableOptions};
//! let text = "age;color;price\n31;red;10.5\nNA;blue;12\n40;;9\n";
//! let table = read_table(text.as_bytes(), "shop.csv", &TableOptions::default())?;
//! assert_eq!(table.names(), ["age", "color", "price"]);
//! let age = table.column("age").unwrap();
//! assert_eq!(age.kind(), ColumnKind::Numeric);
//! assert_eq!((age.number(0), age.number(1)), (Some(31.0), None));
//! let color = table.column("color").unwrap();
//! assert_eq!(color.kind(), ColumnKind::Categorical);
//! assert_eq!((color.text(1), color.text(2)), (Some("blue"), None));
//! # Ok::<(), nn_train::TrainError>(())
//! ```

use std::collections::HashMap;
#[cfg(feature = "csv")]
use std::io::{BufRead, BufReader, Read};
#[cfg(feature = "csv")]
use std::path::Path;

use crate::error::{DataError, Result, TrainError};
use crate::limits::{DEFAULT_MAX_DATA_VALUES, within};

/// The cell texts that mean "missing" by default: empty, `NA`, `N/A`, `nan`, `NaN`,
/// `null`, `?` (matched exactly, after trimming).
pub const DEFAULT_MISSING: &[&str] = &["", "NA", "N/A", "nan", "NaN", "null", "?"];

/// The most columns a table may have (a header with more fields is refused).
pub const MAX_TABLE_COLUMNS: usize = 1 << 16;

/// Code of a missing cell.
const MISSING: u32 = u32::MAX;

/// The field separator of a table file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delimiter {
    /// Detected from the header line: the most frequent of `,` `;` tab outside double
    /// quotes (ties: `,` before `;` before tab; `,` if none occurs). The default.
    #[default]
    Auto,
    /// This byte.
    Byte(u8),
}

/// How to read a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOptions {
    /// The field separator, or [`Delimiter::Auto`].
    pub delimiter: Delimiter,
    /// The cell texts that mean missing, matched exactly (case-sensitive) after trimming;
    /// [`DEFAULT_MISSING`] by default.
    pub missing: Vec<String>,
    /// The most cells (rows × columns) a table may have; by default
    /// [`DEFAULT_MAX_DATA_VALUES`] (2²⁸).
    pub max_cells: usize,
    /// Whether the first row names the columns (the default). Without a header the
    /// columns are named by their 0-based position, `#0`, `#1`, …, and the first row is
    /// data.
    pub has_header: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            delimiter: Delimiter::Auto,
            missing: DEFAULT_MISSING.iter().map(|s| s.to_string()).collect(),
            max_cells: DEFAULT_MAX_DATA_VALUES,
            has_header: true,
        }
    }
}

/// Whether a column holds numbers or categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Every value (every cell that is not missing) parses as a finite `f64` (Rust's
    /// `str::parse`, so `1e3` and `+2` are numbers; `inf` is not finite and makes the
    /// column categorical). A column missing everywhere is numeric.
    Numeric,
    /// Some value is not a finite number: the values are category names.
    Categorical,
}

/// One column of a [`Table`]: each cell a value or missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The distinct values, in order of first appearance.
    values: Vec<String>,
    /// Each row's index into `values`, or [`MISSING`].
    codes: Vec<u32>,
    /// `values` as numbers, if every one is a finite number.
    numbers: Option<Vec<f64>>,
}

impl Column {
    /// Whether every value is a finite number.
    pub fn kind(&self) -> ColumnKind {
        if self.numbers.is_some() {
            ColumnKind::Numeric
        } else {
            ColumnKind::Categorical
        }
    }

    /// Number of cells (the table's rows).
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the column has no cells.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The text of row `row`'s cell; `None` if it is missing or out of range.
    pub fn text(&self, row: usize) -> Option<&str> {
        let code = *self.codes.get(row)?;
        self.values.get(code as usize).map(String::as_str)
    }

    /// Row `row`'s cell as a number: `None` if it is missing, out of range, or the column
    /// is [`ColumnKind::Categorical`].
    pub fn number(&self, row: usize) -> Option<f64> {
        let code = *self.codes.get(row)?;
        self.numbers.as_ref()?.get(code as usize).copied()
    }

    /// The distinct values, in order of first appearance.
    pub fn distinct(&self) -> &[String] {
        &self.values
    }

    /// How many cells are missing.
    pub fn missing_count(&self) -> usize {
        self.codes.iter().filter(|&&c| c == MISSING).count()
    }

    /// The rows whose cell is not missing, in order (e.g. to drop the rows without a
    /// label with [`Table::take_rows`]).
    pub fn present_rows(&self) -> Vec<usize> {
        (0..self.codes.len())
            .filter(|&r| self.codes[r] != MISSING)
            .collect()
    }

    /// The cells of the rows `rows` (checked by the caller).
    fn take(&self, rows: &[usize]) -> Column {
        let mut b = ColumnBuilder::default();
        for &r in rows {
            // Rows were checked to be in range; one more bound would not fail.
            b.push(self.text(r));
        }
        b.finish()
    }
}

/// A column being filled: distinct values with their codes.
#[derive(Default)]
struct ColumnBuilder {
    index: HashMap<String, u32>,
    values: Vec<String>,
    codes: Vec<u32>,
}

impl ColumnBuilder {
    /// Adds a cell; the number of distinct values stays below `u32::MAX` because the
    /// cells are bounded by [`TableOptions::max_cells`], checked by the caller with
    /// [`within`] against at most `u32::MAX - 1`.
    fn push(&mut self, value: Option<&str>) {
        let code = match value {
            None => MISSING,
            Some(v) => match self.index.get(v) {
                Some(&c) => c,
                None => {
                    let c = self.values.len() as u32;
                    self.index.insert(v.to_string(), c);
                    self.values.push(v.to_string());
                    c
                }
            },
        };
        self.codes.push(code);
    }

    fn finish(self) -> Column {
        let numbers: Option<Vec<f64>> = self
            .values
            .iter()
            .map(|v| v.parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect();
        Column {
            values: self.values,
            codes: self.codes,
            numbers,
        }
    }
}

/// A table of named text columns, one row per example (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    source: String,
    names: Vec<String>,
    columns: Vec<Column>,
    /// The 1-based line each row starts on in its file (or the row's 1-based position
    /// after the header, for a table made in memory).
    lines: Vec<u64>,
    missing: Vec<String>,
}

/// Adds rows to a table, checking widths and sizes.
struct TableBuilder {
    source: String,
    names: Vec<String>,
    columns: Vec<ColumnBuilder>,
    lines: Vec<u64>,
    missing: Vec<String>,
    max_cells: usize,
}

impl TableBuilder {
    fn new(
        source: &str,
        names: Vec<String>,
        header_line: u64,
        options: &TableOptions,
    ) -> Result<Self> {
        let err =
            |problem: String, text: &str| table_error(source, header_line, None, text, problem);
        within(
            || format!("{source}: columns in the header"),
            names.len(),
            MAX_TABLE_COLUMNS,
            "MAX_TABLE_COLUMNS",
        )?;
        if names.is_empty() {
            return Err(err("expected a header row naming the columns".into(), ""));
        }
        let mut seen = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            if let Some(j) = seen.insert(n.as_str(), i) {
                return Err(table_error(
                    source,
                    header_line,
                    Some(i + 1),
                    n,
                    format!("duplicate column name (also column {})", j + 1),
                ));
            }
        }
        Ok(Self {
            source: source.to_string(),
            columns: names.iter().map(|_| ColumnBuilder::default()).collect(),
            names,
            lines: Vec::new(),
            missing: options.missing.clone(),
            // Codes are u32 with one value reserved for "missing".
            max_cells: options.max_cells.min(u32::MAX as usize - 1),
        })
    }

    /// Adds one row; `fields` are trimmed texts.
    fn push<'a>(
        &mut self,
        line: u64,
        len: usize,
        fields: impl Iterator<Item = &'a str>,
    ) -> Result<()> {
        let n = self.names.len();
        if len != n {
            return Err(table_error(
                &self.source,
                line,
                None,
                "",
                format!("expected {n} fields (like the header), found {len}"),
            ));
        }
        let cells = (self.lines.len() + 1).saturating_mul(n);
        within(
            || format!("{}: cells (rows × columns) in the table", self.source),
            cells,
            self.max_cells,
            "TableOptions::max_cells",
        )?;
        for (column, field) in self.columns.iter_mut().zip(fields) {
            let missing = self.missing.iter().any(|m| m == field);
            column.push((!missing).then_some(field));
        }
        self.lines.push(line);
        Ok(())
    }

    fn finish(self) -> Table {
        Table {
            source: self.source,
            names: self.names,
            columns: self
                .columns
                .into_iter()
                .map(ColumnBuilder::finish)
                .collect(),
            lines: self.lines,
            missing: self.missing,
        }
    }
}

impl Table {
    /// A table made in memory: `names` name the columns, each row of `rows` gives one
    /// text per column (trimmed, and missing where it equals one of `missing`); `source`
    /// names the table in errors, and row `r` counts as line `r + 2` (after a header).
    ///
    /// ```
    /// use nn_train::data::{Table, DEFAULT_MISSING};
    /// let t = Table::from_rows("mem", &["x", "y"], &[["1", "a"], ["NA", "b"]], DEFAULT_MISSING)?;
    /// assert_eq!((t.n_rows(), t.column("x").unwrap().number(1)), (2, None));
    /// # Ok::<(), nn_train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// [`DataError::Csv`] for duplicate names, no names, or a row of another width;
    /// [`TrainError::TooLarge`] beyond [`MAX_TABLE_COLUMNS`] columns or
    /// [`DEFAULT_MAX_DATA_VALUES`] cells.
    pub fn from_rows<N: AsRef<str>, C: AsRef<str>, R: AsRef<[C]>>(
        source: &str,
        names: &[N],
        rows: &[R],
        missing: &[&str],
    ) -> Result<Table> {
        let options = TableOptions {
            missing: missing.iter().map(|s| s.to_string()).collect(),
            ..TableOptions::default()
        };
        let names = names
            .iter()
            .map(|n| n.as_ref().trim().to_string())
            .collect();
        let mut b = TableBuilder::new(source, names, 1, &options)?;
        for (r, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            b.push(
                r as u64 + 2,
                row.len(),
                row.iter().map(|c| c.as_ref().trim()),
            )?;
        }
        Ok(b.finish())
    }

    /// The name of the table's source (a path, or the name given to the reader).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The column names, in file order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of rows (examples).
    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// Number of columns.
    pub fn n_columns(&self) -> usize {
        self.names.len()
    }

    /// The 0-based index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.column_index(name).map(|i| &self.columns[i])
    }

    /// The column at 0-based index `index`.
    pub fn column_at(&self, index: usize) -> Option<&Column> {
        self.columns.get(index)
    }

    /// The 1-based line row `row` starts on in the source (for error messages).
    pub fn line(&self, row: usize) -> u64 {
        self.lines.get(row).copied().unwrap_or(0)
    }

    /// The cell texts that were read as missing.
    pub fn missing_tokens(&self) -> &[String] {
        &self.missing
    }

    /// A table of the rows `rows` (in that order, repeats allowed): e.g. the training
    /// part of a split, so that a pipeline is fitted on it alone. Lines are kept.
    ///
    /// # Errors
    /// [`TrainError::BadInput`] for a row index out of range.
    pub fn take_rows(&self, rows: &[usize]) -> Result<Table> {
        if let Some(&r) = rows.iter().find(|&&r| r >= self.n_rows()) {
            return Err(TrainError::BadInput {
                what: "table row index",
                expected: format!("below the {} rows", self.n_rows()),
                found: r.to_string(),
            });
        }
        Ok(Table {
            source: self.source.clone(),
            names: self.names.clone(),
            columns: self.columns.iter().map(|c| c.take(rows)).collect(),
            lines: rows.iter().map(|&r| self.lines[r]).collect(),
            missing: self.missing.clone(),
        })
    }
}

/// The CSV-style error of a table (a [`DataError::Csv`]).
pub(crate) fn table_error(
    file: &str,
    line: u64,
    column: Option<usize>,
    text: &str,
    problem: String,
) -> TrainError {
    const MAX: usize = 60;
    let text = if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    };
    DataError::Csv {
        file: file.to_string(),
        line,
        column,
        text,
        problem,
    }
    .into()
}

/// The delimiter [`Delimiter::Auto`] picks for a header line: the most frequent of `,`
/// `;` tab outside double quotes (ties to the earlier of the three; `,` if none occurs).
///
/// ```
/// use nn_train::data::detect_delimiter;
/// assert_eq!(detect_delimiter(b"a;b;\"c,d,e\"\n1;2;3"), b';');
/// assert_eq!(detect_delimiter(b"a\tb"), b'\t');
/// assert_eq!(detect_delimiter(b"single"), b',');
/// ```
pub fn detect_delimiter(header: &[u8]) -> u8 {
    const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in header {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    CANDIDATES[best]
}

/// The most bytes read ahead to find the end of the header line for delimiter detection;
/// a longer header is detected from its first this many bytes.
#[cfg(feature = "csv")]
const MAX_DETECT_BYTES: usize = 1 << 20;

/// Reads a table from CSV text (or gzip-compressed CSV) in `reader`; `name` names the
/// source in errors. See the module docs for the rules.
///
/// # Errors
/// [`DataError::Csv`] naming the line (and column) of the first problem: an empty file,
/// a duplicate column name, a row of another width, invalid UTF-8, broken gzip data;
/// [`TrainError::TooLarge`] beyond [`MAX_TABLE_COLUMNS`] or [`TableOptions::max_cells`].
#[cfg(feature = "csv")]
pub fn read_table<R: Read>(reader: R, name: &str, options: &TableOptions) -> Result<Table> {
    let mut input = BufReader::new(super::csv::decompressed(reader, name)?);
    let delimiter = match options.delimiter {
        Delimiter::Byte(b) => b,
        Delimiter::Auto => {
            // The header line (at most MAX_DETECT_BYTES of it) is read first, then put
            // back in front of the rest.
            let mut head = Vec::new();
            loop {
                let buf = input
                    .fill_buf()
                    .map_err(|e| table_error(name, 0, None, "", format!("cannot read: {e}")))?;
                if buf.is_empty() || head.len() >= MAX_DETECT_BYTES {
                    break;
                }
                let take = buf.len().min(MAX_DETECT_BYTES - head.len());
                let end = buf[..take].iter().position(|&b| b == b'\n');
                let n = end.map_or(take, |e| e + 1);
                head.extend_from_slice(&buf[..n]);
                input.consume(n);
                if end.is_some() {
                    break;
                }
            }
            let d = detect_delimiter(&head);
            return parse_table(std::io::Cursor::new(head).chain(input), name, options, d);
        }
    };
    parse_table(input, name, options, delimiter)
}

/// Loads a table from a CSV file (plain or gzip-compressed); see [`read_table`].
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be opened; otherwise as [`read_table`].
#[cfg(feature = "csv")]
pub fn load_table(path: &Path, options: &TableOptions) -> Result<Table> {
    read_table(
        super::csv::open(path)?,
        &path.display().to_string(),
        options,
    )
}

#[cfg(feature = "csv")]
fn parse_table<R: Read>(
    input: R,
    name: &str,
    options: &TableOptions,
    delimiter: u8,
) -> Result<Table> {
    let mut rdr = super::csv::csv_reader_with(input, delimiter);
    let mut records = super::csv::nonblank(rdr.records());
    let header = match records.next() {
        None => {
            return Err(table_error(
                name,
                0,
                None,
                "",
                "the file is empty: expected a header row naming the columns".into(),
            ));
        }
        Some(r) => r.map_err(|e| super::csv::from_csv_crate(name, &e))?,
    };
    let header_line = header.position().map_or(1, |p| p.line());
    // Bounded before the names are copied: the record itself is bounded by the input.
    within(
        || format!("{name}: columns in the header"),
        header.len(),
        MAX_TABLE_COLUMNS,
        "MAX_TABLE_COLUMNS",
    )?;
    // A UTF-8 byte-order mark (as spreadsheet programs write) is not part of the first field.
    let first: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(i, n)| {
            if i == 0 {
                n.trim_start_matches('\u{feff}')
            } else {
                n
            }
        })
        .collect();
    let names = if options.has_header {
        first.iter().map(|n| n.to_string()).collect()
    } else {
        (0..first.len()).map(|i| format!("#{i}")).collect()
    };
    let mut table = TableBuilder::new(name, names, header_line, options)?;
    let mut last = header_line;
    if !options.has_header {
        // The first record is a row; the names only took its width.
        table.push(header_line, first.len(), first.iter().copied())?;
    }
    for record in records {
        let record = record.map_err(|e| super::csv::from_csv_crate(name, &e))?;
        let line = record.position().map_or(last + 1, |p| p.line());
        last = line;
        table.push(line, record.len(), record.iter())?;
    }
    Ok(table.finish())
}

//! Reading the `--data` file as the user's flags say, and finding its label column.

use nn_train::data::{Delimiter, Table, TableOptions, load_table};

use crate::CliResult;
use crate::args::CsvArgs;
use crate::columns::ColumnRef;

/// The table reader's options from the flags.
fn options(csv: &CsvArgs) -> TableOptions {
    let defaults = TableOptions::default();
    TableOptions {
        delimiter: csv.delimiter.map_or(Delimiter::Auto, Delimiter::Byte),
        // An empty cell is always missing: a list given without it would turn every
        // numeric column with a blank into text.
        missing: match &csv.missing {
            Some(tokens) => std::iter::once(String::new())
                .chain(tokens.iter().filter(|t| !t.is_empty()).cloned())
                .collect(),
            None => defaults.missing,
        },
        has_header: !csv.no_header,
        ..defaults
    }
}

/// The `--data` table.
pub fn read(csv: &CsvArgs) -> CliResult<Table> {
    load_table(&csv.data, &options(csv)).map_err(|e| e.to_string())
}

/// The label column's name: `--label` resolved in the header, else `default` (the
/// model's label), else the last column.
pub fn label_name(table: &Table, csv: &CsvArgs, default: Option<&str>) -> CliResult<String> {
    let file = csv.data.display().to_string();
    let names = table.names();
    let index = match (&csv.label, default) {
        (Some(column), _) => column.resolve(names, &file)?,
        (None, Some(name)) => ColumnRef::Name(name.to_string())
            .resolve(names, &file)
            .map_err(|e| {
                format!("{e}; the model was trained with label `{name}` (--label names another)")
            })?,
        (None, None) => names
            .len()
            .checked_sub(1)
            .ok_or_else(|| format!("{file}: no columns"))?,
    };
    Ok(names[index].clone())
}

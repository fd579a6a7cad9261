//! Values whose serialised form is their text form: `serde` through `Display` and
//! `FromStr`.
//!
//! An enum of variants such as the element type [`DType`](crate::DType) (and those of the
//! crates built on this one) has one table of names; its `Display` writes a value from it
//! (`"f32"`, or a name with parameters such as `"name(0.01)"`) and its `FromStr` reads it
//! back. Serialising through those two functions keeps a single spelling for
//! configs, command lines, error messages and files: the JSON form of a value is the JSON
//! string of its `Display`, and reading one is its `FromStr`, with the same errors.
//!
//! Use it for a type's own `Serialize`/`Deserialize` (as [`DType`](crate::DType) does), or on a field
//! with `#[serde(with = "nn_core::text")]`.
//!
//! ```text
//! DType::F32                     ⇄  "f32"
//! "f16" (deserialising a DType)  →  error: unknown dtype "f16"; valid names: f32, f64
//! ```

use std::fmt::{self, Display};
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

/// Serialises `value` as the string its `Display` writes (without an intermediate
/// `String` where the serialiser can stream it).
///
/// # Errors
/// Whatever the serialiser reports.
pub fn serialize<T: Display + ?Sized, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Deserialises a string and parses it with `T`'s `FromStr`; a parse error becomes the
/// deserialiser's error with the parser's message.
///
/// # Errors
/// A value that is not a string, or a string `T::from_str` rejects.
pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: FromStr,
    T::Err: Display,
    D: Deserializer<'de>,
{
    deserializer.deserialize_str(TextVisitor(PhantomData))
}

/// Reads a borrowed or owned string and parses it.
struct TextVisitor<T>(PhantomData<T>);

impl<T> Visitor<'_> for TextVisitor<T>
where
    T: FromStr,
    T::Err: Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string in the value's text form")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        text.parse().map_err(E::custom)
    }
}

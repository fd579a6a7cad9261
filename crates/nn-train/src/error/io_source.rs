//! The I/O error behind [`super::TrainError::Io`], shared so that the error stays `Clone`
//! and `PartialEq`.

use std::fmt;
use std::io;
use std::ops::Deref;
use std::sync::Arc;

/// An [`io::Error`] that can be cloned (the clones share it) and compared (by
/// [`io::Error::kind`] and message): the source of [`super::TrainError::Io`].
///
/// It dereferences to the [`io::Error`], and `std::error::Error::source` of the
/// [`super::TrainError`] returns that [`io::Error`] itself, so
/// `err.source().and_then(|s| s.downcast_ref::<std::io::Error>())` finds it. (It does not
/// implement `std::error::Error` itself for that reason: the error's `source` reaches the
/// [`io::Error`] through the dereference.)
#[derive(Debug, Clone)]
pub struct IoSource(Arc<io::Error>);

impl IoSource {
    /// Wraps `error`.
    pub fn new(error: io::Error) -> Self {
        Self(Arc::new(error))
    }

    /// The error, as the operating system or the reader reported it.
    pub fn get(&self) -> &io::Error {
        &self.0
    }
}

impl From<io::Error> for IoSource {
    fn from(error: io::Error) -> Self {
        Self::new(error)
    }
}

impl Deref for IoSource {
    type Target = io::Error;

    fn deref(&self) -> &io::Error {
        &self.0
    }
}

impl PartialEq for IoSource {
    /// Two sources are equal when they are of the same kind with the same message (an
    /// [`io::Error`] has no equality of its own).
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl fmt::Display for IoSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

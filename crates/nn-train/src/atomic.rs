//! Writing a file so that it is either the old one or the new one, never half of either,
//! and never a pile of leftovers.
//!
//! [`write_atomic`] writes the bytes to `.{name}.tmp` beside the target, syncs it, renames
//! it over the target and syncs the directory (so the rename itself survives a power
//! cut). The temporary name is fixed per target: a save killed halfway leaves at most that
//! one file, which the next save of the same target reuses. Two saves of one target at
//! once are serialised by an exclusive lock on the temporary file (and each checks, once
//! it holds the lock, that the file it locked is still the one at that name: the other
//! may have renamed it onto the target in between).

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, TrainError};

fn io_error(what: &str, path: &Path, e: std::io::Error) -> TrainError {
    TrainError::io(format!("{what} {}", path.display()), e)
}

/// The directory of `path` (`.` for a bare file name) and its temporary file.
fn temp_for(path: &Path) -> Result<(PathBuf, PathBuf)> {
    let name = path.file_name().ok_or_else(|| {
        let e = std::io::Error::new(ErrorKind::InvalidInput, "the path has no file name");
        io_error("writing", path, e)
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    Ok((dir, tmp))
}

/// `true` if `file` is the file now at `path` (always `true` where this cannot be told).
fn is_at(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// Opens and locks the temporary file of a target, waiting for a concurrent save of the
/// same target to finish.
fn lock_temp(tmp: &Path) -> Result<File> {
    loop {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(tmp)
            .map_err(|e| io_error("creating the temporary file", tmp, e))?;
        file.lock()
            .map_err(|e| io_error("locking the temporary file", tmp, e))?;
        if is_at(&file, tmp) {
            return Ok(file);
        }
        // Another save renamed the file we locked onto its target: try again.
    }
}

/// Makes a completed rename durable: syncs the directory that holds the target (a no-op
/// where directories cannot be opened).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("syncing the directory", dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes `bytes` to `path` atomically (see the module docs): after a crash, a full disk
/// or any error, `path` holds either its old content or all of `bytes`, and at most one
/// temporary file `.{name}.tmp` is left beside it (removed on errors this function sees).
///
/// # Errors
/// [`TrainError::Io`] naming the path and the step that failed (creating, writing,
/// syncing, renaming); `path` is then unchanged.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (dir, tmp) = temp_for(path)?;
    let mut file = lock_temp(&tmp)?;
    let result = (|| {
        file.set_len(0)
            .map_err(|e| io_error("truncating", &tmp, e))?;
        file.write_all(bytes)
            .map_err(|e| io_error("writing", &tmp, e))?;
        file.sync_all().map_err(|e| io_error("syncing", &tmp, e))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| io_error("renaming the temporary file onto", path, e))?;
        sync_dir(&dir)
    })();
    if result.is_err() && is_at(&file, &tmp) {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Checks, before a long computation, that [`write_atomic`] could write `path`: its
/// directory exists and takes a new file, and `path` is not a directory. Leaves nothing
/// behind.
///
/// # Errors
/// [`TrainError::Io`] naming the path and why it cannot be written.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        let e = std::io::Error::new(
            ErrorKind::IsADirectory,
            "it is a directory; give a file name",
        );
        return Err(io_error("writing", path, e));
    }
    let (_, tmp) = temp_for(path)?;
    let file = lock_temp(&tmp)?;
    if is_at(&file, &tmp) {
        std::fs::remove_file(&tmp).map_err(|e| io_error("removing", &tmp, e))?;
    }
    Ok(())
}

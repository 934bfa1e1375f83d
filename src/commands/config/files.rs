//! Writing an MCP client's config file safely: the existing text read (or none), a
//! timestamped backup beside it, an atomic replace (temporary file + rename) with the file's
//! permissions kept (a new file is the user's alone, 0600), and nothing written at all when
//! the existing file cannot be read or parsed.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Why the config file could not be updated; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Neither `HOME` nor `APPDATA` (on Windows) is set.
    #[error(
        "cannot tell where the client's config is (no {0} in the environment); pass --config-file PATH"
    )]
    NoHome(&'static str),
    /// `--project` for a client that has no project file.
    #[error("{0} has no project config file; leave out --project to write this user's")]
    NoProjectFile(&'static str),
    /// The existing file could not be read.
    #[error("cannot read {}: {cause}; nothing was written", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// The existing file does not parse, or is not the shape the client uses.
    #[error(
        "{} is not a valid {client} config ({why}); nothing was written. Fix the file (or move it away) and run this again",
        path.display()
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The client's name.
        client: &'static str,
        /// What the parser said (a position, never the file's contents).
        why: String,
    },
    /// `--remove NAME` with no such entry.
    #[error("{} has no entry named {name:?}; nothing was changed (config --list shows the entries)", path.display())]
    NoEntry {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        name: String,
    },
    /// The backup or the new file could not be written.
    #[error("cannot write {}: {cause}; the config file is unchanged", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: String,
    },
}

/// What a change did, for the person who ran it.
#[derive(Debug)]
pub struct Outcome {
    /// The file written.
    pub path: PathBuf,
    /// The entry's name.
    pub name: String,
    /// What happened to the entry.
    pub change: Change,
    /// Where the previous contents were saved, if the file existed.
    pub backup: Option<PathBuf>,
}

/// What happened to the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new entry.
    Added,
    /// An entry of that name was there and has been replaced in place.
    Replaced,
    /// The entry was taken out.
    Removed,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, prep) = match self.change {
            Change::Added => ("Added the", "in"),
            Change::Replaced => ("Replaced the existing", "in"),
            Change::Removed => ("Removed the", "from"),
        };
        write!(
            f,
            "{verb} \"{}\" entry {prep} {}",
            self.name,
            self.path.display()
        )?;
        match &self.backup {
            Some(b) => write!(f, "\nThe previous file is saved as {}", b.display()),
            None => write!(f, " (a new file)"),
        }
    }
}

/// The file's text, or `None` when it does not exist.
pub fn read_existing(path: &Path) -> Result<Option<String>, FileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FileError::Read {
            path: path.to_path_buf(),
            cause: e.to_string(),
        }),
    }
}

/// Replaces the file at `path` with `text`: its directory created if needed, the old file
/// (when `existed`) copied to a backup first. Returns the backup's path.
pub fn write(path: &Path, existed: bool, text: &str) -> Result<Option<PathBuf>, FileError> {
    let write_err = |p: &Path, e: std::io::Error| FileError::Write {
        path: p.to_path_buf(),
        cause: e.to_string(),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| write_err(&dir, e))?;
    let backup = match existed {
        true => Some(backup(path).map_err(|e| write_err(path, e))?),
        false => None,
    };
    replace_atomically(path, &dir, text.as_bytes()).map_err(|e| write_err(path, e))?;
    Ok(backup)
}

/// Copies the file to `NAME.YYYYMMDD-HHMMSS.bak` beside it (permissions included: it may
/// hold what the user had put there, secrets too), never overwriting an earlier backup.
fn backup(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = utc_stamp(SystemTime::now());
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    for n in 0..100 {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let candidate = path.with_file_name(format!("{file_name}.{stamp}{suffix}.bak"));
        if !candidate.exists() {
            std::fs::copy(path, &candidate)?;
            return Ok(candidate);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "too many backups with this timestamp",
    ))
}

/// Writes `contents` to a new file in `dir`, then renames it over `path`: a reader (or a
/// crash) sees the old file or the new one, never half of one.
fn replace_atomically(path: &Path, dir: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        // Keep the mode an existing file had; a new one is the user's alone.
        let mode = std::fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o7777);
        options.mode(mode);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path) {
            // `mode` above is filtered by the umask; set the old mode exactly.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(
                meta.permissions().mode() & 0o7777,
            ))?;
        }
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // 2024-02-29 12:34:56 UTC
        assert_eq!(utc_stamp(t), "20240229-123456");
    }
}

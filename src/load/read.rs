//! The one way the CLI reads a whole file: only a regular file (a FIFO would block, `/dev/zero`
//! never ends), and never more than a limit (read with `take(limit + 1)`, so a file that grows
//! or lies about its size is still bounded). The limits are listed in `docs/limits.md`.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// `simulate --scenario`.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;
/// `simulate --config @FILE` (the plugin configuration handed to the module).
pub const MAX_PLUGIN_CONFIG_BYTES: u64 = 16 << 20;
/// `simulate --module`, `inspect FILE.wasm`, `pack --module`, and a blob in an image (the
/// image reader uses the same bound).
pub const MAX_MODULE_BYTES: u64 = 256 << 20;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// A FIFO, a device, a socket or a directory where a regular file is required.
    NotRegular,
    /// More than `limit` bytes.
    TooLarge {
        limit: u64,
    },
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular => f.write_str("not a regular file"),
            ReadError::TooLarge { limit } => {
                write!(f, "larger than the limit of {}", human_bytes(*limit))
            }
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

/// `1 MiB`, `64 MiB`, else bytes.
pub fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// Reads the regular file at `path` (symlinks to one are followed: inputs are the caller's
/// choice) whole, refusing anything else and anything over `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // A (sparse) file known to be too large is refused without reading it; `take` still
    // bounds one that grows meanwhile.
    if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > limit) {
        return Err(ReadError::TooLarge { limit });
    }
    let buf = read_regular_capped(path, limit)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(buf)
}

/// As [`read_regular`], but a file that grows past `limit` while read gives its first
/// `limit + 1` bytes (callers that report the size as a finding check the length).
pub fn read_regular_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // Checked before `open`: opening a FIFO for reading blocks until a writer comes.
    if !std::fs::metadata(path).map_err(ReadError::Io)?.is_file() {
        return Err(ReadError::NotRegular);
    }
    let f = std::fs::File::open(path).map_err(ReadError::Io)?;
    // And again on the open handle, in case the path was swapped in between.
    if !f.metadata().map_err(ReadError::Io)?.is_file() {
        return Err(ReadError::NotRegular);
    }
    let mut buf = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(ReadError::Io)?;
    Ok(buf)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_regular(path, limit)?;
    String::from_utf8(bytes).map_err(|_| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_and_caps_size() {
        if Path::new("/dev/zero").exists() {
            assert!(matches!(
                read_regular(Path::new("/dev/zero"), 10),
                Err(ReadError::NotRegular)
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_regular(&p, 10).unwrap().len(), 10);
        assert!(matches!(
            read_regular(&p, 9),
            Err(ReadError::TooLarge { limit: 9 })
        ));
        assert_eq!(human_bytes(1 << 20), "1 MiB");
    }
}

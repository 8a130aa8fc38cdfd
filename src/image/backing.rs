//! Where the bytes of an image source live: a directory (OCI layout) or a tar archive (OCI
//! archive, docker-archive). Archives are indexed once and read by seeking; nothing is
//! extracted.

use super::Limits;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum Backing {
    Dir(PathBuf),
    /// Regular-file entries of a tar: normalised name → (data offset, size).
    Archive {
        path: PathBuf,
        entries: HashMap<String, (u64, u64)>,
    },
}

fn normalise(name: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

impl Backing {
    pub fn archive(path: &Path) -> Result<Backing, String> {
        // Extension headers are refused above their bound before the indexing pass buffers them.
        let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
        if let Ok(entries) = tar::Archive::new(&file).entries_with_seek() {
            let max = crate::limits::get(crate::limits::Limit::ImageTarHeaderBytes);
            super::fs::check_tar_entries(entries, max)?;
        }
        let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
        let mut archive = tar::Archive::new(file);
        let mut entries = HashMap::new();
        let mut links = Vec::new();
        let iter = archive
            .entries_with_seek()
            .map_err(|e| format!("not a tar archive: {e}"))?;
        for (n, entry) in iter.enumerate() {
            let max = crate::limits::get_usize(crate::limits::Limit::ArchiveEntries);
            if n >= max {
                return Err(format!(
                    "more than {max} entries (bound; --limit archive-entries=N)"
                ));
            }
            let entry = entry.map_err(|e| {
                if n == 0 {
                    "not a tar archive: neither an OCI archive nor a docker-archive".to_string()
                } else {
                    format!(
                        "corrupt tar archive at entry {n}: {}",
                        printable(&e.to_string())
                    )
                }
            })?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(key) = normalise(&name) else {
                continue;
            };
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    entries.insert(key, (entry.raw_file_position(), entry.size()));
                }
                // `docker save` links `<id>/layer.tar` to the layer file.
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    if let Some(t) = entry.link_name_bytes() {
                        let t = String::from_utf8_lossy(&t).into_owned();
                        let dir = key.rfind('/').map(|i| &key[..i]).unwrap_or("");
                        let joined = if entry.header().entry_type() == tar::EntryType::Link
                            || dir.is_empty()
                        {
                            t
                        } else {
                            format!("{dir}/{t}")
                        };
                        links.push((key, joined));
                    }
                }
                _ => {}
            }
        }
        for (key, target) in links {
            if let Some(&e) = normalise(&target).and_then(|t| entries.get(&t)) {
                entries.insert(key, e);
            }
        }
        if entries.is_empty() {
            return Err("not a tar archive (no files found)".into());
        }
        Ok(Backing::Archive {
            path: path.to_path_buf(),
            entries,
        })
    }

    pub fn exists(&self, rel: &str) -> bool {
        match self {
            Backing::Dir(root) => normalise(rel).is_some_and(|r| root.join(r).is_file()),
            Backing::Archive { entries, .. } => {
                normalise(rel).is_some_and(|r| entries.contains_key(&r))
            }
        }
    }

    /// Reads `rel`, refusing more than `max` bytes. `Ok(None)` when it does not exist.
    pub fn read(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>, String> {
        let Some(rel) = normalise(rel) else {
            return Err(format!("path `{rel}` leaves the image source (unsafe)"));
        };
        let too_big = |size: u64| format!("`{rel}` is {size} bytes, more than the bound {max}");
        match self {
            Backing::Dir(root) => {
                let path = root.join(&rel);
                let meta = match std::fs::metadata(&path) {
                    Ok(m) if m.is_file() => m,
                    Ok(_) => return Ok(None),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(format!("cannot read `{rel}`: {e}")),
                };
                if meta.len() > max {
                    return Err(too_big(meta.len()));
                }
                let mut buf = Vec::with_capacity(meta.len() as usize);
                File::open(&path)
                    .and_then(|f| f.take(max + 1).read_to_end(&mut buf))
                    .map_err(|e| format!("cannot read `{rel}`: {e}"))?;
                if buf.len() as u64 > max {
                    return Err(too_big(buf.len() as u64));
                }
                Ok(Some(buf))
            }
            Backing::Archive { path, entries } => {
                let Some(&(offset, size)) = entries.get(&rel) else {
                    return Ok(None);
                };
                if size > max {
                    return Err(too_big(size));
                }
                let mut f = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
                f.seek(SeekFrom::Start(offset))
                    .map_err(|e| format!("cannot read `{rel}`: {e}"))?;
                let mut buf = Vec::with_capacity(size as usize);
                f.take(size)
                    .read_to_end(&mut buf)
                    .map_err(|e| format!("cannot read `{rel}`: {e}"))?;
                if (buf.len() as u64) < size {
                    return Err(format!(
                        "`{rel}` is truncated ({} of {size} bytes)",
                        buf.len()
                    ));
                }
                Ok(Some(buf))
            }
        }
    }

    /// Reads the blob of a descriptor from an OCI layout and verifies its size and digest.
    pub fn blob(&self, digest: &str, size: u64, max: u64) -> Result<Vec<u8>, String> {
        let hex = digest_hex(digest)?;
        if size > max {
            return Err(format!(
                "blob {digest} is declared as {size} bytes, more than the bound {max}"
            ));
        }
        let rel = format!("blobs/sha256/{hex}");
        let bytes = self.read(&rel, max)?.ok_or_else(|| {
            format!("missing blob {digest} (`{rel}`); the image was not copied completely")
        })?;
        if bytes.len() as u64 != size {
            return Err(format!(
                "blob {digest} has {} bytes, but its descriptor says {size}",
                bytes.len()
            ));
        }
        let actual = sha256_hex(&bytes);
        if actual != hex {
            return Err(format!(
                "blob {digest} has digest sha256:{actual} (corrupt or tampered)"
            ));
        }
        Ok(bytes)
    }
}

/// The hex part of a `sha256:<64 lowercase hex>` digest; anything else is refused (a digest
/// becomes a path, so it must not contain `/` or `..`).
pub fn digest_hex(digest: &str) -> Result<&str, String> {
    let Some((alg, hex)) = digest.split_once(':') else {
        return Err(format!("malformed digest `{digest}`"));
    };
    if alg != "sha256" {
        return Err(format!(
            "unsupported digest algorithm `{alg}` in `{digest}` (only sha256)"
        ));
    }
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("malformed digest `{digest}`"));
    }
    Ok(hex)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Parses a bounded JSON document, naming it in the error.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("malformed {what}: {e}"))
}

/// Reads and parses a JSON file of the source (`index.json`, `manifest.json`).
pub fn read_json<T: serde::de::DeserializeOwned>(
    b: &Backing,
    rel: &str,
    limits: &Limits,
) -> Result<Option<T>, String> {
    match b.read(rel, limits.max_json)? {
        Some(bytes) => parse_json(&bytes, &format!("`{rel}`")).map(Some),
        None => Ok(None),
    }
}

/// An error text safe to print: the tar crate quotes raw header bytes, which may be anything.
fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(120)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 120 {
        out.push('…');
    }
    out
}

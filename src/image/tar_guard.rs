//! Watches a tar stream's headers as the bytes go past, so that what the `tar` crate would
//! buffer whole (a GNU long name or long link, a PAX header: whatever size its header claims)
//! is refused above its bound before it is read. One pass: a gzip layer used to be decompressed
//! twice, once by a checking pass and once by the real one.
//!
//! It follows the archive the way the `tar` crate does (a header block, the entry's data
//! rounded up to 512 bytes, the next header; the end at the first all-zero block) and stops
//! watching at anything the crate would refuse itself (a bad checksum or size field), leaving
//! the crate to word that error.

use std::io::{self, Read};

const BLOCK: usize = 512;

/// The error a refused header is turned into for the reader above; the words are kept in
/// [`TarGuard::refusal`].
const REFUSED: &str = "tar extension header refused";

enum State {
    /// Filling the next header block (`filled` bytes so far).
    Header { filled: usize },
    /// Inside an entry: `data` bytes of content, then `pad` bytes of padding. A PAX header's
    /// content is kept (it is at most the bound) to look for a `size` record.
    Entry {
        data: u64,
        pad: u64,
        pax: Option<Vec<u8>>,
    },
    /// Past the end of the archive, or past something the `tar` crate refuses.
    Done,
}

pub(crate) struct TarGuard<R> {
    inner: R,
    max: u64,
    block: [u8; BLOCK],
    state: State,
    refusal: Option<String>,
}

impl<R: Read> TarGuard<R> {
    /// Guards `inner`, refusing extension headers over `max` bytes.
    pub(crate) fn new(inner: R, max: u64) -> Self {
        TarGuard {
            inner,
            max,
            block: [0; BLOCK],
            state: State::Header { filled: 0 },
            refusal: None,
        }
    }

    /// Why the stream was refused, if it was (every read fails from then on).
    pub(crate) fn refusal(&self) -> Option<&str> {
        self.refusal.as_deref()
    }

    /// Follows the archive over `bytes`, the next ones of the stream.
    fn watch(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Done => return Ok(()),
                State::Header { filled } => {
                    let n = (BLOCK - *filled).min(bytes.len());
                    self.block[*filled..*filled + n].copy_from_slice(&bytes[..n]);
                    *filled += n;
                    bytes = &bytes[n..];
                    if *filled == BLOCK {
                        self.state = self.header()?;
                    }
                }
                State::Entry { data, pad, pax } => {
                    let n = (*data).min(bytes.len() as u64) as usize;
                    if let Some(p) = pax {
                        p.extend_from_slice(&bytes[..n]);
                    }
                    *data -= n as u64;
                    bytes = &bytes[n..];
                    if *data == 0 {
                        if pax.as_deref().is_some_and(pax_has_size) {
                            return Err(PAX_SIZE.into());
                        }
                        *pax = None;
                        let k = (*pad).min(bytes.len() as u64) as usize;
                        *pad -= k as u64;
                        bytes = &bytes[k..];
                        if *pad == 0 {
                            self.state = State::Header { filled: 0 };
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The stream ended: PAX records cut short are judged as far as they go (the reader above
    /// pads a truncated layer with zeros and would apply them).
    fn at_end(&mut self) -> Result<(), String> {
        if let State::Entry { pax: Some(p), .. } = &self.state {
            if pax_has_size(p) {
                return Err(PAX_SIZE.into());
            }
        }
        self.state = State::Done;
        Ok(())
    }

    /// Judges the header in `block` and says what follows it.
    fn header(&self) -> Result<State, String> {
        let b = &self.block;
        let h = tar::Header::from_byte_slice(b);
        // The crate's own checksum rule; a mismatch is its error to report. The all-zero block
        // that ends the archive fails it too (its sum is 256), so the watch ends there.
        let sum = b[..148]
            .iter()
            .chain(&b[156..])
            .map(|&x| u32::from(x))
            .sum::<u32>()
            + 8 * 32;
        let (Ok(cksum), Ok(size)) = (h.cksum(), h.entry_size()) else {
            return Ok(State::Done);
        };
        // A size that cannot be rounded up to a block is the crate's "size overflow".
        let (true, Some(padded)) = (cksum == sum, size.checked_next_multiple_of(BLOCK as u64))
        else {
            return Ok(State::Done);
        };
        check_header(h, self.max)?;
        if size == 0 {
            return Ok(State::Header { filled: 0 });
        }
        let t = h.entry_type();
        let pax = t.is_pax_local_extensions() || t.is_pax_global_extensions();
        Ok(State::Entry {
            data: size,
            pad: padded - size,
            pax: pax.then(Vec::new),
        })
    }
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.refusal.is_some() {
            return Err(io::Error::other(REFUSED));
        }
        let n = self.inner.read(buf)?;
        let seen = if n == 0 && !buf.is_empty() {
            self.at_end()
        } else {
            self.watch(&buf[..n])
        };
        if let Err(why) = seen {
            self.refusal = Some(why);
            return Err(io::Error::other(REFUSED));
        }
        Ok(n)
    }
}

pub(crate) const PAX_SIZE: &str = "a PAX `size` record (members over 8 GiB are beyond every bound)";

/// Refuses an extension header over `max` bytes and a GNU sparse header with extension blocks
/// (neither is needed by any layer; the crate would buffer the one and we do not follow the
/// other).
pub(crate) fn check_header(h: &tar::Header, max: u64) -> Result<(), String> {
    let t = h.entry_type();
    let size = h.entry_size().unwrap_or(0);
    let ext = t.is_gnu_longname()
        || t.is_gnu_longlink()
        || t.is_pax_local_extensions()
        || t.is_pax_global_extensions();
    if ext && size > max {
        return Err(format!(
            "a tar extension header (type `{}`) of {size} bytes, more than the bound {max} (limit image-tar-header-bytes)",
            char::from(t.as_byte()).escape_default()
        ));
    }
    if t.is_gnu_sparse() && h.as_gnu().is_some_and(|g| g.is_extended()) {
        return Err("a GNU sparse file with extension blocks (not supported)".into());
    }
    Ok(())
}

/// Whether PAX records set `size` (they would move where the next header is; a PAX size is
/// for members over 8 GiB, far beyond the uncompressed bound, so it is refused).
pub(crate) fn pax_has_size(data: &[u8]) -> bool {
    data.split(|b| *b == b'\n').any(|rec| {
        rec.splitn(2, |b| *b == b' ')
            .nth(1)
            .is_some_and(|r| r.starts_with(b"size="))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::fs::{Budget, FileTree};
    use crate::image::Limits;

    /// A header block of `kind` named `name` claiming `size` bytes (GNU format when `gnu`).
    fn header(name: &str, kind: u8, size: u64, gnu: bool) -> [u8; BLOCK] {
        let mut h = if gnu {
            tar::Header::new_gnu()
        } else {
            tar::Header::new_ustar()
        };
        h.set_path(name).unwrap();
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        *h.as_bytes()
    }

    fn entry(out: &mut Vec<u8>, name: &str, kind: u8, data: &[u8]) {
        out.extend_from_slice(&header(name, kind, data.len() as u64, true));
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(BLOCK), 0);
    }

    /// Files whose sizes put every later header at a different offset within a read.
    fn prefix() -> Vec<u8> {
        let mut t = Vec::new();
        for (i, n) in [0usize, 1, 511, 512, 513, 1500].iter().enumerate() {
            entry(&mut t, &format!("f{i}"), b'0', &vec![b'a'; *n]);
        }
        t
    }

    fn end(mut t: Vec<u8>) -> Vec<u8> {
        t.resize(t.len() + 2 * BLOCK, 0);
        t
    }

    fn small() -> Limits {
        Limits {
            max_tar_header: 4096,
            ..Limits::default()
        }
    }

    fn apply(t: &[u8]) -> Result<FileTree, String> {
        let mut tree = FileTree::default();
        tree.apply_layer(t, &small(), &mut Budget::default())?;
        Ok(tree)
    }

    /// Reads `t` through a guard `chunk` bytes at a time, to the end or the first error.
    fn stream(t: &[u8], chunk: usize) -> Result<(), String> {
        let mut g = TarGuard::new(t, 4096);
        let mut buf = vec![0; chunk];
        loop {
            match g.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(g.refusal().map_or(e.to_string(), str::to_string)),
            }
        }
    }

    #[test]
    fn extension_headers_over_the_bound_are_refused_wherever_they_are() {
        for kind in [b'L', b'K', b'x', b'g'] {
            let mut t = prefix();
            t.extend_from_slice(&header("././@LongLink", kind, 1 << 30, true));
            let t = end(t);
            let want = format!(
                "a tar extension header (type `{}`) of 1073741824 bytes, more than the bound 4096",
                char::from(kind)
            );
            let err = apply(&t).unwrap_err();
            assert!(err.contains(&want), "{err}");
            for chunk in [1, 7, 512, 100_000] {
                let err = stream(&t, chunk).unwrap_err();
                assert!(err.contains(&want), "{chunk}: {err}");
            }
        }
    }

    #[test]
    fn extension_headers_within_the_bound_are_applied() {
        let long = "d/".repeat(60) + "plugin.wasm";
        let mut t = prefix();
        entry(
            &mut t,
            "././@LongLink",
            b'L',
            format!("{long}\0").as_bytes(),
        );
        entry(&mut t, "short", b'0', b"\0asm");
        let pax_path = "p/".repeat(60) + "manifest.yaml";
        let rec = format!(" path={pax_path}\n");
        let rec = format!("{}{rec}", rec.len() + 3);
        entry(&mut t, "PaxHeaders/x", b'x', rec.as_bytes());
        entry(&mut t, "x", b'0', b"name: m\n");
        let t = end(t);
        let tree = apply(&t).unwrap();
        assert_eq!(&*tree.file(&long).unwrap().unwrap(), b"\0asm");
        assert_eq!(&*tree.file(&pax_path).unwrap().unwrap(), b"name: m\n");
        assert_eq!(&*tree.file("f5").unwrap().unwrap(), &[b'a'; 1500][..]);
        for chunk in [1, 3, 512, 4096] {
            stream(&t, chunk).unwrap();
        }
    }

    #[test]
    fn a_pax_size_record_is_refused() {
        let mut t = prefix();
        entry(&mut t, "PaxHeaders/x", b'x', b"16 size=1000000\n");
        entry(&mut t, "x", b'0', b"data");
        let t = end(t);
        let err = apply(&t).unwrap_err();
        assert!(err.contains(PAX_SIZE), "{err}");
        for chunk in [1, 5, 512] {
            assert!(stream(&t, chunk).unwrap_err().contains(PAX_SIZE));
        }
    }

    #[test]
    fn a_gnu_sparse_file_with_extension_blocks_is_refused() {
        let mut t = prefix();
        let mut h = header("sparse", b'S', 0, true);
        h[482] = 1; // isextended
        let mut hh = tar::Header::from_byte_slice(&h).clone();
        hh.set_cksum();
        t.extend_from_slice(hh.as_bytes());
        t.extend_from_slice(&[0; BLOCK]);
        let t = end(t);
        let err = apply(&t).unwrap_err();
        assert!(
            err.contains("GNU sparse file with extension blocks"),
            "{err}"
        );
    }

    #[test]
    fn the_tar_readers_own_errors_are_left_to_it() {
        // A bad checksum stops the watch: the oversized header behind it is the tar reader's
        // to report, as a checksum error.
        let mut t = prefix();
        let mut h = header("././@LongLink", b'L', 1 << 30, true);
        h[0] ^= 1;
        t.extend_from_slice(&h);
        let t = end(t);
        stream(&t, 512).unwrap();
        let err = apply(&t).unwrap_err();
        assert!(err.contains("checksum"), "{err}");
    }

    #[test]
    fn nothing_after_the_end_of_the_archive_is_judged() {
        let mut t = end(prefix());
        t.extend_from_slice(&header("././@LongLink", b'L', 1 << 30, true));
        stream(&t, 512).unwrap();
        let tree = apply(&t).unwrap();
        assert!(tree.file("f1").unwrap().is_some());
    }

    #[test]
    fn a_refused_stream_stays_refused() {
        let mut t = header("././@LongLink", b'L', 1 << 30, true).to_vec();
        t.resize(4 * BLOCK, 0);
        let mut g = TarGuard::new(&t[..], 4096);
        let mut buf = [0; BLOCK];
        assert!(g.read(&mut buf).is_err());
        assert!(g.read(&mut buf).is_err());
        assert!(g.refusal().unwrap().contains("type `L`"));
    }

    /// What the checking pass that came before this guard decided: the `tar` crate's raw
    /// entries, each header judged, PAX data read up to the bound.
    fn raw_pass(t: &[u8]) -> Result<(), String> {
        let mut a = tar::Archive::new(t);
        crate::image::fs::check_tar_entries(a.entries().unwrap(), 4096)
    }

    #[test]
    fn the_guard_decides_as_the_separate_checking_pass_did() {
        let mut base = prefix();
        entry(&mut base, "././@LongLink", b'L', b"a/long/name\0");
        entry(&mut base, "n", b'0', b"x");
        entry(&mut base, "PaxHeaders/x", b'x', b"16 size=1000000\n");
        entry(&mut base, "PaxHeaders/y", b'x', b"14 path=a/b/c\n");
        entry(&mut base, "s", b'S', b"");
        let base = end(base);
        let heads: Vec<usize> = {
            let mut v = Vec::new();
            let mut a = tar::Archive::new(&base[..]);
            for e in a.entries().unwrap().raw(true) {
                v.push(e.unwrap().raw_header_position() as usize);
            }
            v
        };
        let (mut refused, mut passed) = (0, 0);
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..3000 {
            let mut t = base.clone();
            for _ in 0..1 + rng.below(3) {
                let h = heads[rng.below(heads.len())];
                match rng.below(4) {
                    // a type flag, a size field digit or any byte of a header
                    0 => t[h + 156] = b"0LKxgS5\0"[rng.below(8)],
                    1 => t[h + 124 + rng.below(11)] = b"0123456777 \0x"[rng.below(13)],
                    2 => t[h + rng.below(BLOCK)] = rng.next() as u8,
                    _ => t[h + 482] = rng.below(2) as u8,
                }
                // Most mutants get a good checksum, or the first header change ends it all.
                if rng.below(5) > 0 {
                    let mut hh = tar::Header::from_byte_slice(&t[h..h + BLOCK]).clone();
                    hh.set_cksum();
                    t[h..h + BLOCK].copy_from_slice(hh.as_bytes());
                }
            }
            if rng.below(4) == 0 {
                t.truncate(rng.below(t.len()));
            }
            let want = raw_pass(&t);
            let got = stream(&t, 1 + rng.below(700));
            assert_eq!(got, want, "case {case}");
            if want.is_err() {
                refused += 1
            } else {
                passed += 1
            }
        }
        // Both outcomes are well represented.
        assert!(
            refused > 500 && passed > 500,
            "{refused} refused, {passed} passed"
        );
    }
}

//! The merged filesystem of an image, built in memory by applying layers in order with OCI
//! whiteouts. Nothing is written to disk. Paths are keys relative to the root (`a/b`), the
//! root being the empty path.

use super::tar_guard::{self, TarGuard};
use super::Limits;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Symlink hops allowed while resolving one path (Linux uses 40).
pub const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File(Arc<[u8]>),
    Dir,
    /// Target as written; resolved inside the image root.
    Symlink(String),
}

/// Files, directories and symlinks of the image, as the container sees them.
#[derive(Debug, Clone, Default)]
pub struct FileTree {
    nodes: BTreeMap<String, Node>,
    /// Bytes of file content held.
    bytes: u64,
    /// Bytes of the paths held (every parent directory is a key of its own).
    key_bytes: u64,
}

/// Counts what has been read across all layers of one image against [`Limits`].
#[derive(Debug, Default)]
pub struct Budget {
    pub uncompressed: u64,
    /// File contents shared between the images of a run.
    pub pool: Option<Arc<Pool>>,
}

/// File contents held by all images of a run, each distinct content once: images that share
/// a layer (or a file) share its bytes, and the total is bounded (`images-total-bytes`).
#[derive(Debug, Default)]
pub struct Pool {
    files: Mutex<HashMap<u64, Vec<Arc<[u8]>>>>,
    bytes: AtomicU64,
}

impl Pool {
    /// The shared copy of `data`, charging new content to the run's total.
    pub fn intern(&self, data: Vec<u8>) -> Result<Arc<[u8]>, String> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        data.hash(&mut h);
        let key = h.finish();
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let same = files.entry(key).or_default();
        if let Some(f) = same.iter().find(|f| ***f == *data) {
            return Ok(f.clone());
        }
        let total = self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
        let max = crate::limits::get(crate::limits::Limit::ImagesTotalBytes);
        if total > max {
            return Err(format!(
                "the images of this run hold more than {max} bytes of files (limit images-total-bytes)"
            ));
        }
        let f: Arc<[u8]> = data.into();
        same.push(f.clone());
        Ok(f)
    }
}

/// What applying one layer found.
#[derive(Debug, Clone, Default)]
pub struct LayerStats {
    /// sha256 of the uncompressed tar stream (the config's `diff_id`).
    pub diff_id: String,
    pub uncompressed_size: u64,
    pub entries: usize,
    /// Paths (relative to the root) of `plugin.wasm` files in this layer (WasmPlugin compat).
    pub plugin_wasm: Vec<String>,
    /// The first entry, in tar order, whose base name is `plugin.wasm` (what the WasmPlugin
    /// fetcher takes, whatever its type).
    pub first_plugin_wasm: Option<PluginWasmEntry>,
    /// Whether the blob was gzip-compressed (the fetcher only reads gzip layers).
    pub gzip: bool,
}

/// A tar entry named `plugin.wasm`, as istio-agent's `extractWasmPluginBinary` reads it: the
/// first entry whose `filepath.Base` of the raw header name is `plugin.wasm`.
#[derive(Debug, Clone)]
pub struct PluginWasmEntry {
    /// The raw header name (`./plugin.wasm`, `dist/plugin.wasm`).
    pub name: String,
    /// `file`, `directory`, `symlink`, `hardlink` or `other`: only a file has content.
    pub kind: &'static str,
    /// The bytes the fetcher reads: the content of a file, nothing for other kinds.
    pub bytes: Arc<[u8]>,
    /// Offset in the uncompressed tar stream where the entry's data ends (the fetcher stops
    /// reading the stream at its size cap).
    pub data_end: u64,
}

/// Go's `filepath.Base` of a tar header name: trailing slashes dropped, then the last element.
pub fn go_base(name: &str) -> &str {
    let t = name.trim_end_matches('/');
    if t.is_empty() {
        return if name.is_empty() { "." } else { "/" };
    }
    t.rsplit('/').next().unwrap_or(t)
}

/// Normalises a tar or user path to a root-relative key. `..` that would leave the root and
/// absolute paths are refused: a well-formed layer has neither.
pub fn clean_entry_path(raw: &str) -> Result<String, String> {
    if raw.starts_with('/') {
        return Err(format!("absolute path `{raw}` in a layer (unsafe)"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("path `{raw}` leaves the image root (unsafe)"));
                }
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

fn parent(key: &str) -> &str {
    key.rfind('/').map(|i| &key[..i]).unwrap_or("")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Counts bytes read and fails once `limit` is passed (decompression bombs), hashing as it goes.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
    hasher: Sha256,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(BOMB));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

const BOMB: &str = "uncompressed-limit";

/// Ends a stream that stops right after an entry's data, without the padding and
/// end-of-archive blocks (umoci 0.4 `insert` writes such layers, and Go's tar reader, hence
/// podman and umoci, accepts them): at EOF it supplies zeros to the next 512-byte boundary
/// and two zero blocks, and records where the real data ended so that an entry whose data
/// reaches into the supplied zeros is still reported as truncated.
struct PadAtEof<R> {
    inner: R,
    pos: u64,
    real_end: Rc<Cell<Option<u64>>>,
    zeros_left: u64,
}

impl<R: Read> Read for PadAtEof<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.real_end.get().is_none() {
            let n = self.inner.read(buf)?;
            if n > 0 || buf.is_empty() {
                self.pos += n as u64;
                return Ok(n);
            }
            self.real_end.set(Some(self.pos));
            self.zeros_left = (512 - self.pos % 512) % 512 + 1024;
        }
        let n = (buf.len() as u64).min(self.zeros_left) as usize;
        buf[..n].fill(0);
        self.zeros_left -= n as u64;
        Ok(n)
    }
}

/// One layer entry before it is applied.
enum Pending {
    Whiteout(String),
    Opaque(String),
    Put(String, Node),
    HardLink(String, String),
}

impl FileTree {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.nodes.get(key)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Total bytes of file content held.
    pub fn content_bytes(&self) -> u64 {
        self.bytes
    }

    /// All entries, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn remove_tree(&mut self, key: &str, keep: &BTreeSet<String>) {
        if !keep.contains(key) {
            if let Some(Node::File(b)) = self.nodes.remove(key) {
                self.bytes -= b.len() as u64;
            }
        }
        self.remove_children(key, keep);
    }

    fn remove_children(&mut self, dir: &str, keep: &BTreeSet<String>) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .filter(|k| !keep.contains(k))
            .collect();
        for k in doomed {
            if let Some(Node::File(b)) = self.nodes.remove(&k) {
                self.bytes -= b.len() as u64;
            }
        }
    }

    /// Adds `key`, creating parent directories. Fails when a parent is a symlink or a file
    /// (a layer writing through a symlink is how extraction attacks escape the root).
    pub fn put(&mut self, key: String, node: Node, limits: &Limits) -> Result<(), String> {
        if key.is_empty() {
            return Ok(()); // the root itself
        }
        let mut dir = parent(&key).to_string();
        let mut missing = Vec::new();
        while !dir.is_empty() {
            match self.nodes.get(&dir) {
                Some(Node::Dir) => break,
                Some(Node::Symlink(t)) => {
                    return Err(format!(
                        "`{key}` is written through the symlink `{dir}` -> `{t}` (unsafe)"
                    ))
                }
                Some(Node::File(_)) => {
                    return Err(format!("`{key}` is inside `{dir}`, which is a file"))
                }
                None => missing.push(dir.clone()),
            }
            dir = parent(&dir).to_string();
        }
        for d in missing {
            self.key_bytes += d.len() as u64;
            self.nodes.insert(d, Node::Dir);
        }
        self.key_bytes += key.len() as u64;
        // Paths are bounded one by one (`image-path-bytes`); all of them by a quarter of the
        // uncompressed budget, so deep trees cannot multiply them.
        if self.key_bytes > limits.max_uncompressed / 4 {
            return Err(format!(
                "the paths of the image exceed {} bytes (bound)",
                limits.max_uncompressed / 4
            ));
        }
        let empty = BTreeSet::new();
        match (&node, self.nodes.get(&key)) {
            (Node::Dir, Some(Node::Dir)) => return Ok(()),
            (_, Some(Node::Dir)) => self.remove_children(&key, &empty),
            _ => {}
        }
        if let Node::File(b) = &node {
            self.bytes += b.len() as u64;
        }
        if let Some(Node::File(old)) = self.nodes.insert(key, node) {
            self.bytes -= old.len() as u64;
        }
        if self.nodes.len() > limits.max_files {
            return Err(format!(
                "more than {} files in the image (bound)",
                limits.max_files
            ));
        }
        Ok(())
    }

    /// Applies one uncompressed-or-gzip tar layer (gzip detected by its magic bytes).
    pub fn apply_layer(
        &mut self,
        blob: &[u8],
        limits: &Limits,
        budget: &mut Budget,
    ) -> Result<LayerStats, String> {
        let remaining = limits.max_uncompressed.saturating_sub(budget.uncompressed);
        let gz = blob.starts_with(&[0x1f, 0x8b]);
        if blob.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            return Err("zstd-compressed layers are not supported; convert the image with `skopeo copy --dest-compress-format gzip`".into());
        }
        let open = || -> Box<dyn Read + '_> {
            if gz {
                Box::new(flate2::read::MultiGzDecoder::new(blob))
            } else {
                Box::new(blob)
            }
        };
        let raw = open();
        let mut reader = Bounded {
            inner: raw,
            read: 0,
            limit: remaining,
            hasher: Sha256::new(),
        };
        let mut guard = TarGuard::new(&mut reader, limits.max_tar_header);
        let result = self.read_layer(&mut guard, limits, budget.pool.as_deref());
        // A refused header is the first thing wrong with the layer, however the tar reader
        // worded the error it saw (or if it let it pass).
        if let Some(why) = guard.refusal() {
            return Err(why.to_string());
        }
        let bomb = |e: String| {
            if reader_exceeded(&e) {
                format!(
                    "layer expands past {} bytes uncompressed (bound; decompression bomb?)",
                    limits.max_uncompressed
                )
            } else {
                e
            }
        };
        let mut stats = result.map_err(bomb)?;
        stats.gzip = gz;
        // Hash the rest of the stream (tar padding) so the diff_id covers all of it.
        io::copy(&mut reader, &mut io::sink()).map_err(|e| bomb(format!("layer stream: {e}")))?;
        budget.uncompressed += reader.read;
        stats.uncompressed_size = reader.read;
        stats.diff_id = format!("sha256:{:x}", reader.hasher.finalize());
        Ok(stats)
    }

    fn read_layer<R: Read>(
        &mut self,
        reader: R,
        limits: &Limits,
        pool: Option<&Pool>,
    ) -> Result<LayerStats, String> {
        let mut pending = Vec::new();
        let mut stats = LayerStats::default();
        let real_end = Rc::new(Cell::new(None));
        let padded = PadAtEof {
            inner: reader,
            pos: 0,
            real_end: real_end.clone(),
            zeros_left: 0,
        };
        let mut archive = tar::Archive::new(padded);
        let entries = archive.entries().map_err(|e| format!("bad tar: {e}"))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("bad tar: {e}"))?;
            stats.entries += 1;
            if stats.entries > limits.max_files {
                return Err(format!(
                    "more than {} entries in a layer (bound)",
                    limits.max_files
                ));
            }
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if raw.len() > limits.max_path {
                return Err(format!(
                    "a path of {} bytes in a layer, more than the bound {} (`{}…`)",
                    raw.len(),
                    limits.max_path,
                    raw.chars().take(60).collect::<String>()
                ));
            }
            let key = clean_entry_path(&raw)?;
            let first_plugin = stats.first_plugin_wasm.is_none() && go_base(&raw) == "plugin.wasm";
            if first_plugin {
                use tar::EntryType as T;
                let kind = match entry.header().entry_type() {
                    T::Regular | T::Continuous | T::GNUSparse => "file",
                    T::Directory => "directory",
                    T::Symlink => "symlink",
                    T::Link => "hardlink",
                    _ => "other",
                };
                let size = entry.header().size().unwrap_or(0);
                stats.first_plugin_wasm = Some(PluginWasmEntry {
                    name: raw.clone(),
                    kind,
                    bytes: Arc::from(&[][..]),
                    data_end: entry.raw_file_position().saturating_add(size),
                });
            }
            let name = key.rsplit('/').next().unwrap_or("");
            let dir = parent(&key).to_string();
            if name == ".wh..wh..opq" {
                pending.push(Pending::Opaque(dir));
                continue;
            }
            if let Some(hidden) = name.strip_prefix(".wh.") {
                pending.push(Pending::Whiteout(join(&dir, hidden)));
                continue;
            }
            use tar::EntryType as T;
            let kind = entry.header().entry_type();
            let node = match kind {
                T::Regular | T::Continuous | T::GNUSparse => {
                    let size = entry
                        .header()
                        .size()
                        .map_err(|e| format!("bad tar header for `{raw}`: {e}"))?;
                    if size > limits.max_uncompressed {
                        return Err(format!(
                            "`{raw}` claims {size} bytes, more than the bound {}",
                            limits.max_uncompressed
                        ));
                    }
                    // The first MiB first, so that a header lying about a large size reserves
                    // little before its data runs out; then exactly the rest (growing by
                    // doubling held up to 1.5× the file at once).
                    let head = size.min(1 << 20);
                    let mut buf = Vec::with_capacity(head as usize);
                    let bad = |e: io::Error| format!("bad tar data for `{raw}`: {e}");
                    (&mut entry).take(head).read_to_end(&mut buf).map_err(bad)?;
                    if buf.len() as u64 == head && head < size {
                        buf.reserve_exact((size - head) as usize);
                        entry.read_to_end(&mut buf).map_err(bad)?;
                    }
                    if real_end
                        .get()
                        .is_some_and(|end| entry.raw_file_position() + size > end)
                    {
                        return Err(format!("bad tar: `{raw}` is truncated"));
                    }
                    if name == "plugin.wasm" {
                        stats.plugin_wasm.push(key.clone());
                    }
                    let bytes: Arc<[u8]> = match pool {
                        Some(p) => p.intern(buf)?,
                        None => buf.into(),
                    };
                    if first_plugin {
                        if let Some(e) = stats.first_plugin_wasm.as_mut() {
                            e.bytes = bytes.clone();
                        }
                    }
                    Node::File(bytes)
                }
                T::Directory => Node::Dir,
                T::Symlink => {
                    let target = link_name(&entry, &raw)?;
                    check_symlink(&key, &target)?;
                    Node::Symlink(target)
                }
                T::Link => {
                    let target = link_name(&entry, &raw)?;
                    let target =
                        clean_entry_path(target.trim_start_matches('/')).map_err(|_| {
                            format!(
                                "hard link `{raw}` -> `{target}` leaves the image root (unsafe)"
                            )
                        })?;
                    pending.push(Pending::HardLink(key, target));
                    continue;
                }
                // Devices, fifos and extension headers carry no content we need.
                _ => continue,
            };
            pending.push(Pending::Put(key, node));
        }
        // Whiteouts hide what lower layers hold, never what this layer adds.
        let added: BTreeSet<String> = pending
            .iter()
            .filter_map(|p| match p {
                Pending::Put(k, _) | Pending::HardLink(k, _) => Some(k.clone()),
                _ => None,
            })
            .collect();
        // Each distinct whiteout once, and none under another: the subtrees removed are then
        // disjoint, so the work is linear in the tree however many whiteouts the layer lists.
        let mut hidden: BTreeMap<&str, bool> = BTreeMap::new(); // path → opaque (children only)
        for p in &pending {
            match p {
                Pending::Whiteout(k) => {
                    hidden.entry(k.as_str()).or_insert(false);
                }
                Pending::Opaque(d) => {
                    hidden.insert(d.as_str(), true);
                }
                _ => {}
            }
        }
        let mut covered: Option<&str> = None;
        for (&k, &opaque) in &hidden {
            // Sorted, so a covering ancestor comes just before its descendants.
            if covered.is_some_and(|c| c.is_empty() || k.starts_with(&format!("{c}/"))) {
                continue;
            }
            if opaque {
                self.remove_children(k, &added);
            } else {
                self.remove_tree(k, &added);
            }
            covered = Some(k);
        }
        for p in pending {
            match p {
                Pending::Put(k, n) => self.put(k, n, limits)?,
                Pending::HardLink(k, target) => match self.nodes.get(&target) {
                    Some(n @ Node::File(_)) | Some(n @ Node::Symlink(_)) => {
                        let n = n.clone();
                        self.put(k, n, limits)?
                    }
                    _ => {
                        return Err(format!(
                        "hard link `{k}` points at `{target}`, which is not a file in the image"
                    ))
                    }
                },
                _ => {}
            }
        }
        Ok(stats)
    }

    /// Resolves `path` (absolute or relative to the root) following symlinks inside the root,
    /// as a process in the container would. `Ok(None)` when it does not exist.
    pub fn resolve(&self, path: &str) -> Result<Option<(String, &Node)>, String> {
        let mut todo: Vec<String> = path
            .split('/')
            .rev()
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect();
        let mut cur: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    cur.pop(); // `..` at the root stays at the root
                    continue;
                }
                _ => {}
            }
            cur.push(c);
            let key = cur.join("/");
            match self.nodes.get(&key) {
                None => return Ok(None),
                Some(Node::Symlink(target)) => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(format!(
                            "too many levels of symbolic links resolving `{path}`"
                        ));
                    }
                    cur.pop();
                    if target.starts_with('/') {
                        cur.clear();
                    }
                    todo.extend(
                        target
                            .split('/')
                            .rev()
                            .filter(|c| !c.is_empty())
                            .map(String::from),
                    );
                }
                Some(Node::File(_)) if !todo.is_empty() => return Ok(None),
                Some(_) => {}
            }
        }
        let key = cur.join("/");
        if key.is_empty() {
            return Ok(Some((key, &Node::Dir)));
        }
        Ok(self.nodes.get(&key).map(|n| (key, n)))
    }

    /// The content of the regular file at `path` (symlinks followed); `Ok(None)` when absent
    /// or not a regular file.
    pub fn file(&self, path: &str) -> Result<Option<Arc<[u8]>>, String> {
        Ok(match self.resolve(path)? {
            Some((_, Node::File(b))) => Some(b.clone()),
            _ => None,
        })
    }
}

/// Refuses the extension headers a seekable archive holds above `max` bytes before the
/// indexing pass buffers them (see [`TarGuard`], which does the same for a layer as it streams).
pub(crate) fn check_tar_entries<R: Read>(
    entries: tar::Entries<'_, R>,
    max: u64,
) -> Result<(), String> {
    for entry in entries.raw(true) {
        let Ok(entry) = entry else {
            return Ok(());
        };
        tar_guard::check_header(entry.header(), max)?;
        let t = entry.header().entry_type();
        if t.is_pax_local_extensions() || t.is_pax_global_extensions() {
            let mut data = Vec::new();
            if entry.take(max).read_to_end(&mut data).is_err() {
                return Ok(());
            }
            if tar_guard::pax_has_size(&data) {
                return Err(tar_guard::PAX_SIZE.into());
            }
        }
    }
    Ok(())
}

fn reader_exceeded(msg: &str) -> bool {
    msg.contains(BOMB)
}

fn link_name<R: Read>(entry: &tar::Entry<R>, raw: &str) -> Result<String, String> {
    match entry.link_name_bytes() {
        Some(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        None => Err(format!("link `{raw}` has no target")),
    }
}

/// Refuses a relative symlink whose target climbs above the root from where it sits. Absolute
/// targets are resolved inside the root (container semantics), so they are safe.
pub fn check_symlink(key: &str, target: &str) -> Result<(), String> {
    if target.starts_with('/') {
        return Ok(());
    }
    let mut depth = parent(key).split('/').filter(|c| !c.is_empty()).count() as i64;
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!(
                        "symlink `/{key}` -> `{target}` leaves the image root (unsafe)"
                    ));
                }
            }
            _ => depth += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_paths_and_refuses_escapes() {
        assert_eq!(clean_entry_path("./a/./b/").unwrap(), "a/b");
        assert_eq!(clean_entry_path("a/../b").unwrap(), "b");
        assert!(clean_entry_path("../../etc/passwd").is_err());
        assert!(clean_entry_path("/etc/passwd").is_err());
        assert!(check_symlink("a/b", "../c").is_ok());
        assert!(check_symlink("a/b", "../../c").is_err());
        assert!(check_symlink("a/b", "/etc/passwd").is_ok());
    }

    fn one_file_tar(data: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        b.append_data(&mut h, "f", data).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn missing_tar_trailer_is_tolerated_but_truncated_data_is_not() {
        let l = Limits::default();
        let full = one_file_tar(&[7u8; 100]);
        // header + data, no padding, no end-of-archive blocks (as umoci 0.4 writes)
        let mut t = FileTree::default();
        t.apply_layer(&full[..612], &l, &mut Budget::default())
            .unwrap();
        assert_eq!(t.file("f").unwrap().unwrap().len(), 100);
        let err = FileTree::default().apply_layer(&full[..600], &l, &mut Budget::default());
        assert!(err.unwrap_err().contains("truncated"));
    }

    #[test]
    fn resolves_symlinks_inside_the_root() {
        let l = Limits::default();
        let mut t = FileTree::default();
        t.put(
            "data/x.wasm".into(),
            Node::File(Arc::from(&b"\0asm"[..])),
            &l,
        )
        .unwrap();
        t.put(
            "plugin.wasm".into(),
            Node::Symlink("/data/x.wasm".into()),
            &l,
        )
        .unwrap();
        t.put("loop".into(), Node::Symlink("loop".into()), &l)
            .unwrap();
        assert_eq!(&*t.file("/plugin.wasm").unwrap().unwrap(), b"\0asm");
        assert_eq!(&*t.file("../../plugin.wasm").unwrap().unwrap(), b"\0asm");
        assert!(t.file("/loop").is_err());
        assert!(t.file("/data").unwrap().is_none());
        assert!(t.put("loop/x".into(), Node::Dir, &l).is_err());
    }
}

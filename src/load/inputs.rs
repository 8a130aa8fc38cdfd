//! Turning command-line paths into documents: files, directories (recursive), glob patterns
//! and `-` for stdin. Unreadable or missing paths are usage errors (exit 2); unparseable
//! content is a [`LoadProblem`] (reported by `rules::input::syntax`) so the rest of the inputs
//! are still checked.

use super::yaml::{self, Limits, Node, Value};
use super::Document;
use crate::diag::Location;
use crate::source::SourceFile;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files larger than this are refused rather than parsed.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The bound in force (`--limit input-bytes=…`; default [`MAX_FILE_BYTES`]).
pub fn max_file_bytes() -> u64 {
    crate::limits::get(crate::limits::Limit::InputBytes)
}

/// Directories never descended into when a directory is given.
const SKIP_DIRS: &[&str] = &[".git", "target", "node_modules", ".hg", ".svn"];

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InputPath {
    Stdin,
    File(PathBuf),
}

/// What is wrong with an input file itself, in the order the loader met it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadProblem {
    /// Larger than [`MAX_FILE_BYTES`]; not parsed.
    TooLarge { at: Location },
    /// Not UTF-8: the first invalid byte.
    NotUtf8 { offset: usize, at: Location },
    /// A NUL byte: binary data.
    Binary { offset: usize, at: Location },
    /// Invalid YAML; the documents before it were read.
    Syntax { message: String, at: Location },
    /// A key given twice in one mapping: the later value wins.
    DuplicateKey {
        key: String,
        at: Location,
        first: Location,
    },
    /// A mapping without `apiVersion` or `kind`.
    NotAnObject { at: Location },
    /// A document that is not a mapping at all.
    NotAMapping { at: Location },
}

/// Documents, the sources they came from, and problems of the inputs themselves.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: Vec<Arc<SourceFile>>,
    pub documents: Vec<Arc<Document>>,
    pub problems: Vec<LoadProblem>,
}

fn is_manifest_file(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("yaml" | "yml" | "json")
    )
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Walks `dir` for manifest files. Nothing met is skipped silently: an entry that cannot be
/// read (a directory without permission) is an error naming it, and so is a symbolic link that
/// could be an input (named like a manifest, or to a directory). Links are not followed, since
/// their target may lie outside the tree under review, and not skipped, since the run would
/// then say "no problems" about files it never read; name the target explicitly, or list the
/// link under the config's `ignore:`.
/// With `only` (a glob argument), links outside the pattern are not inputs and not reported.
fn walk_dir(
    dir: &Path,
    ignore: &GlobSet,
    only: Option<&globset::GlobMatcher>,
    out: &mut Vec<InputPath>,
) -> Result<(), String> {
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        // Like ripgrep, hidden files and directories (`.git`, `.pre-commit-config.yaml`) are
        // not walked into; name them explicitly to lint them.
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !(name.starts_with('.')
                    || (e.file_type().is_dir() && SKIP_DIRS.contains(&name.as_ref())))
        });
    for entry in walker {
        let entry = entry.map_err(|e| {
            let at = e.path().unwrap_or(dir).display().to_string();
            match e.io_error() {
                Some(io) => format!("{at}: cannot read while walking `{}`: {io}", dir.display()),
                None => format!("{at}: cannot walk: {e}"),
            }
        })?;
        let p = entry.path();
        if ignore.is_match(clean(p)) {
            continue;
        }
        if entry.file_type().is_symlink() && entry.depth() > 0 {
            let wanted = only.is_none_or(|g| g.is_match(clean(p)));
            if wanted && (is_manifest_file(p) || p.is_dir()) {
                return Err(format!(
                    "{}: symbolic link in a walked directory; links are not followed \
                     (name its target as an input, or add the link to `ignore:`)",
                    clean(p).display()
                ));
            }
            continue;
        }
        if entry.file_type().is_file() && is_manifest_file(p) {
            out.push(InputPath::File(clean(p).to_path_buf()));
        }
    }
    Ok(())
}

/// `./a/b` → `a/b`, so reported paths look as users expect.
fn clean(p: &Path) -> &Path {
    p.strip_prefix(".").unwrap_or(p)
}

/// The literal directory prefix of a glob (`samples/**/*.yaml` → `samples`).
fn glob_root(pattern: &str) -> PathBuf {
    let mut root = PathBuf::new();
    for comp in Path::new(pattern).components() {
        let s = comp.as_os_str().to_string_lossy();
        if has_glob_chars(&s) {
            break;
        }
        root.push(comp);
    }
    if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root
    }
}

/// Expands command-line arguments into input paths, sorted and de-duplicated within each
/// argument. `ignore` holds patterns (config `ignore:`) that directories and globs skip.
pub fn expand(args: &[String], ignore: &GlobSet) -> Result<Vec<InputPath>, String> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            out.push(InputPath::Stdin);
            continue;
        }
        let path = Path::new(arg);
        if path.is_dir() {
            walk_dir(path, ignore, None, &mut out)?;
        } else if path.is_file() {
            out.push(InputPath::File(clean(path).to_path_buf()));
        } else if has_glob_chars(arg) {
            let glob = Glob::new(arg.strip_prefix("./").unwrap_or(arg))
                .map_err(|e| format!("invalid glob pattern {arg:?}: {e}"))?
                .compile_matcher();
            let mut found = Vec::new();
            walk_dir(&glob_root(arg), ignore, Some(&glob), &mut found)?;
            let before = out.len();
            out.extend(
                found
                    .into_iter()
                    .filter(|p| matches!(p, InputPath::File(f) if glob.is_match(f))),
            );
            if out.len() == before {
                return Err(format!("no files match the pattern {arg:?}"));
            }
        } else if path.exists() {
            // A FIFO or a device: reading it could block or never end.
            return Err(format!("{arg}: not a regular file"));
        } else {
            return Err(format!("{arg}: no such file or directory"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

/// Builds a matcher from glob patterns (used for `ignore:` and `--context` filtering).
pub fn globset(patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| format!("invalid glob pattern {p:?}: {e}"))?);
    }
    b.build().map_err(|e| e.to_string())
}

/// Reads one input. I/O failures are usage errors (exit 2); content problems are load problems.
pub fn read(input: &InputPath) -> Result<(String, Vec<u8>), String> {
    match input {
        InputPath::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(max_file_bytes() + 1)
                .read_to_end(&mut buf)
                .map_err(|e| format!("reading standard input: {e}"))?;
            Ok(("<stdin>".into(), buf))
        }
        InputPath::File(p) => {
            let name = p.to_string_lossy().into_owned();
            // Over the limit is reported by `add_source` as a finding, so read one byte more.
            let buf = super::read::read_regular_capped(p, max_file_bytes())
                .map_err(|e| format!("{name}: {e}"))?;
            Ok((name, buf))
        }
    }
}

/// Parses file contents into documents, adding problems of the file to `loaded`.
pub fn add_source(loaded: &mut Loaded, name: String, bytes: Vec<u8>) {
    if bytes.len() as u64 > max_file_bytes() {
        let src = SourceFile::new(name, "");
        loaded.problems.push(LoadProblem::TooLarge {
            at: src.location(0, 0),
        });
        return;
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let valid = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
            let src = SourceFile::new(name, valid);
            loaded.problems.push(LoadProblem::NotUtf8 {
                offset: at,
                at: src.location(at, at),
            });
            loaded.sources.push(src);
            return;
        }
    };
    if let Some(at) = text.find('\0') {
        let src = SourceFile::new(name, text);
        loaded.problems.push(LoadProblem::Binary {
            offset: at,
            at: src.location(at, at + 1),
        });
        loaded.sources.push(src);
        return;
    }
    let src = SourceFile::new(name, text);
    let parsed = yaml::parse(&src.text, Limits::default());
    for (index, doc) in parsed.docs.into_iter().enumerate() {
        for dup in &doc.duplicates {
            loaded.problems.push(LoadProblem::DuplicateKey {
                key: dup.key.clone(),
                at: src.location(dup.span.start, dup.span.end),
                first: src.location(dup.first.start, dup.first.end),
            });
        }
        if let Some(root) = doc.root {
            add_objects(loaded, &src, index, String::new(), root);
        }
    }
    if let Some(e) = parsed.error {
        loaded.problems.push(LoadProblem::Syntax {
            message: e.message,
            at: src.location(e.span.start, e.span.end),
        });
    }
    loaded.sources.push(src);
}

/// Adds an object, expanding `kind: List` (`items`) into its members.
fn add_objects(loaded: &mut Loaded, src: &Arc<SourceFile>, index: usize, base: String, root: Node) {
    match &root.value {
        Value::Null => {}
        Value::Map(_) => {
            let is_list = root
                .get("kind")
                .and_then(Node::as_str)
                .is_some_and(|k| k == "List" || k.ends_with("List"))
                && root.get("items").is_some_and(|i| i.as_seq().is_some());
            if is_list {
                // Move the items out (a List can be most of a 10 MB file: no copies).
                let Value::Map(entries) = root.value else {
                    unreachable!("matched a map")
                };
                for (key, value) in entries {
                    if key.as_str() != Some("items") {
                        continue;
                    }
                    if let Value::Seq(items) = value.value {
                        for (i, item) in items.into_iter().enumerate() {
                            add_objects(loaded, src, index, format!("{base}/items/{i}"), item);
                        }
                    }
                }
            } else if root.get("kind").and_then(Node::as_str).is_none()
                || root.get("apiVersion").and_then(Node::as_str).is_none()
            {
                loaded.problems.push(LoadProblem::NotAnObject {
                    at: src.location(root.span.start, root.span.start),
                });
            } else {
                loaded
                    .documents
                    .push(Arc::new(Document::new(src.clone(), index, base, root)));
            }
        }
        _ => loaded.problems.push(LoadProblem::NotAMapping {
            at: src.location(root.span.start, root.span.end),
        }),
    }
}

/// Reads and parses all inputs. Returns `Err` for the first unreadable path.
pub fn load(inputs: &[InputPath]) -> Result<Loaded, String> {
    let mut loaded = Loaded::default();
    for input in inputs {
        let (name, bytes) = read(input)?;
        add_source(&mut loaded, name, bytes);
    }
    Ok(loaded)
}

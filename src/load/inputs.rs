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
    /// Standard input reported under a file name (`lint --stdin-filename NAME`).
    StdinAs(String),
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
    /// Files read but recognised as something other than manifests (see [`not_a_manifest`]).
    pub skipped: Vec<Skipped>,
}

/// An input file that is not read as manifests, and why (printed by `lint --verbose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub why: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: skipped, {}", self.path, self.why)
    }
}

/// The inputs selected from the command line.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub paths: Vec<InputPath>,
    /// Files that are not under a directory or glob given as input (files named one by one, as
    /// pre-commit passes them, and the `--context` walk): YAML with no Kubernetes object in
    /// it is skipped there rather than reported as MX106.
    pub loose: std::collections::HashSet<PathBuf>,
    /// Files left out by `ignore:` or by their name (see [`not_a_manifest_by_path`]).
    pub skipped: Vec<Skipped>,
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
    skipped: &mut Vec<Skipped>,
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
            let p = clean(p);
            if only.is_some_and(|g| !g.is_match(p)) {
                continue;
            }
            match not_a_manifest_by_path(p) {
                Some(why) => skipped.push(Skipped {
                    path: p.to_string_lossy().into_owned(),
                    why: why.into(),
                }),
                None => out.push(InputPath::File(p.to_path_buf())),
            }
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
/// argument. `ignore` holds patterns (config `ignore:`) that directories, globs and files
/// named one by one skip.
pub fn expand(args: &[String], ignore: &GlobSet) -> Result<Vec<InputPath>, String> {
    select(args, ignore).map(|s| s.paths)
}

/// [`expand`], also saying which files were left out and which were named one by one.
pub fn select(args: &[String], ignore: &GlobSet) -> Result<Selection, String> {
    let mut sel = Selection::default();
    let out = &mut sel.paths;
    for arg in args {
        if arg == "-" {
            out.push(InputPath::Stdin);
            continue;
        }
        let path = Path::new(arg);
        if path.is_dir() {
            walk_dir(path, ignore, None, out, &mut sel.skipped)?;
        } else if path.is_file() {
            let p = clean(path);
            let name = p.to_string_lossy().into_owned();
            // pre-commit names every changed file: `ignore:` must hold for them too.
            if ignore.is_match(p) {
                sel.skipped.push(Skipped {
                    path: name,
                    why: "matches an `ignore:` pattern of the configuration".into(),
                });
            } else if let Some(why) = not_a_manifest_by_path(p) {
                sel.skipped.push(Skipped {
                    path: name,
                    why: why.into(),
                });
            } else {
                sel.loose.insert(p.to_path_buf());
                out.push(InputPath::File(p.to_path_buf()));
            }
        } else if has_glob_chars(arg) {
            let glob = Glob::new(arg.strip_prefix("./").unwrap_or(arg))
                .map_err(|e| format!("invalid glob pattern {arg:?}: {e}"))?
                .compile_matcher();
            let before = out.len() + sel.skipped.len();
            walk_dir(&glob_root(arg), ignore, Some(&glob), out, &mut sel.skipped)?;
            if out.len() + sel.skipped.len() == before {
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
    Ok(sel)
}

/// Files that are YAML or JSON but, by their name or place, never Kubernetes manifests: the
/// tool's own configuration, other tools' configurations (pre-commit, CI systems, yamllint,
/// GitHub Actions metadata) and the files of a Helm chart other than `crds/` (templates are Go
/// templates, values are not objects; lint the rendered output: `helm template … | meshext-lint
/// lint -`). The reason, or `None` for a file that may hold manifests.
pub fn not_a_manifest_by_path(p: &Path) -> Option<&'static str> {
    const CI_FILES: &[&str] = &[
        ".gitlab-ci.yml",
        ".gitlab-ci.yaml",
        ".travis.yml",
        "azure-pipelines.yml",
        "azure-pipelines.yaml",
        "bitbucket-pipelines.yml",
        "appveyor.yml",
        "action.yml",
        "action.yaml",
    ];
    const CI_DIRS: &[&str] = &[".github", ".gitlab", ".circleci", ".buildkite", ".tekton"];
    let name = p.file_name()?.to_str()?;
    if name == crate::config::FILE_NAME || crate::config::ALT_FILE_NAMES.contains(&name) {
        return Some("the meshext-lint configuration is not a manifest");
    }
    if name == ".pre-commit-config.yaml" || name == ".pre-commit-hooks.yaml" {
        return Some("a pre-commit configuration is not a manifest");
    }
    if name.starts_with(".yamllint") {
        return Some("a yamllint configuration is not a manifest");
    }
    if CI_FILES.contains(&name)
        || p.components()
            .any(|c| CI_DIRS.iter().any(|d| c.as_os_str() == *d))
    {
        return Some("a CI configuration is not a manifest");
    }
    if name == "Chart.yaml" || name == "Chart.lock" {
        return Some("a Helm chart file is not a manifest");
    }
    // The nearest enclosing chart: a parent directory holding `Chart.yaml`.
    let chart = p
        .parent()?
        .ancestors()
        .take(16)
        .find(|d| d.join("Chart.yaml").is_file());
    if let Some(chart) = chart {
        let inside = p.strip_prefix(chart).ok()?;
        let top = inside.components().next()?.as_os_str().to_str()?;
        return match top {
            // Plain CRD manifests, applied by helm as they are.
            "crds" => None,
            "templates" => {
                Some("a Helm template (render it with `helm template`) is not a manifest")
            }
            _ => Some("a Helm chart file is not a manifest"),
        };
    }
    None
}

/// Recognised from the content: a Go/Helm template (`{{` with YAML that does not parse, or a
/// line starting with `{{`), a meshext-lint baseline, or, for a `loose` file, YAML none of whose
/// documents has `apiVersion` or `kind` (application or tool configuration). `None` for
/// manifests, including broken ones, which are reported.
fn not_a_manifest_by_content(
    text: &str,
    parsed: &yaml::Parsed,
    loose: bool,
) -> Option<&'static str> {
    if text.contains("{{")
        && (parsed.error.is_some() || text.lines().any(|l| l.trim_start().starts_with("{{")))
    {
        return Some("a Go template (`{{ }}`) is not a manifest; lint the rendered output");
    }
    let roots: Vec<&Node> = parsed.docs.iter().filter_map(|d| d.root.as_ref()).collect();
    let has = |n: &Node, k: &str| n.get(k).is_some();
    if let [only] = roots.as_slice() {
        if has(only, "findings") && has(only, "version") && !has(only, "kind") {
            return Some("a meshext-lint baseline is not a manifest");
        }
    }
    let objects = roots.iter().any(|n| has(n, "apiVersion") || has(n, "kind"));
    let content = roots.iter().any(|n| !matches!(n.value, Value::Null));
    if loose && parsed.error.is_none() && content && !objects {
        return Some("no document has `apiVersion` or `kind`: not Kubernetes manifests");
    }
    None
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
        InputPath::Stdin | InputPath::StdinAs(_) => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(max_file_bytes() + 1)
                .read_to_end(&mut buf)
                .map_err(|e| format!("reading standard input: {e}"))?;
            let name = match input {
                InputPath::StdinAs(name) => name.clone(),
                _ => "<stdin>".into(),
            };
            Ok((name, buf))
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
    add_source_as(loaded, name, bytes, false)
}

/// [`add_source`]; a `loose` file (see [`Selection::loose`]) without any Kubernetes object is
/// skipped rather than reported.
fn add_source_as(loaded: &mut Loaded, name: String, bytes: Vec<u8>, loose: bool) {
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
    if let Some(why) = not_a_manifest_by_content(&src.text, &parsed, loose) {
        loaded.skipped.push(Skipped {
            path: src.name.clone(),
            why: why.into(),
        });
        return;
    }
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
    load_selection(&Selection {
        paths: inputs.to_vec(),
        ..Selection::default()
    })
}

/// Reads and parses the selected inputs; the files skipped by name and those recognised as
/// not manifests are in `skipped`.
pub fn load_selection(sel: &Selection) -> Result<Loaded, String> {
    let mut loaded = Loaded {
        skipped: sel.skipped.clone(),
        ..Loaded::default()
    };
    for input in &sel.paths {
        let (name, bytes) = read(input)?;
        let loose = matches!(input, InputPath::File(f) if sel.loose.contains(f));
        add_source_as(&mut loaded, name, bytes, loose);
    }
    Ok(loaded)
}

#[cfg(test)]
mod not_manifest_tests {
    use super::*;

    fn by_content(text: &str, loose: bool) -> Option<&'static str> {
        not_a_manifest_by_content(text, &yaml::parse(text, Limits::default()), loose)
    }

    #[test]
    fn templates_baselines_and_plain_yaml_are_recognised() {
        assert!(by_content("{{- if .Values.x }}\nkind: A\n{{- end }}\n", false).is_some());
        assert!(by_content(
            "apiVersion: v1\nkind: A\nmetadata:\n  name: {{ .N }}-x\n",
            false
        )
        .is_some());
        // A quoted `{{ }}` in a valid manifest is a value, not a template.
        assert_eq!(
            by_content("apiVersion: v1\nkind: A\ndata: {t: \"{{ x }}\"}\n", false),
            None
        );
        assert!(by_content("{\"version\": 1, \"findings\": []}", false).is_some());
        assert!(by_content("server: {port: 1}\n", true).is_some());
        assert_eq!(
            by_content("server: {port: 1}\n", false),
            None,
            "strict: MX106"
        );
        assert_eq!(
            by_content("kind: A\n", true),
            None,
            "half a manifest is reported"
        );
        assert_eq!(by_content("a: [\n", true), None, "broken YAML is reported");
        assert_eq!(by_content("", true), None);
    }

    #[test]
    fn names_of_other_tools_files_are_recognised() {
        for p in [
            ".meshext-lint.yml",
            "x/.pre-commit-config.yaml",
            ".gitlab-ci.yml",
            ".github/workflows/ci.yaml",
            "Chart.yaml",
        ] {
            assert!(not_a_manifest_by_path(Path::new(p)).is_some(), "{p}");
        }
        for p in ["mesh/a.yaml", "github/a.yaml", "templates/a.yaml"] {
            assert_eq!(not_a_manifest_by_path(Path::new(p)), None, "{p}");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("c/templates")).unwrap();
        std::fs::create_dir_all(dir.path().join("c/crds")).unwrap();
        std::fs::write(dir.path().join("c/Chart.yaml"), "name: c\n").unwrap();
        assert!(
            not_a_manifest_by_path(&dir.path().join("c/templates/d.yaml"))
                .is_some_and(|w| w.contains("Helm template"))
        );
        assert!(not_a_manifest_by_path(&dir.path().join("c/values.yaml")).is_some());
        assert_eq!(
            not_a_manifest_by_path(&dir.path().join("c/crds/x.yaml")),
            None
        );
    }
}

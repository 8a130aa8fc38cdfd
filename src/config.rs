//! The configuration file `.meshext-lint.yaml`: found by walking up from the working
//! directory (or named with `--config`), parsed with span-carrying YAML and validated strictly,
//! so a typo is an error at `file:line:col` (exit 2) rather than a silently ignored setting.
//!
//! Paths in the file (`context`, `images`, `baseline`) are relative to the file's directory.
//! The format is documented in `docs/configuration.md`.

use crate::diag::{Location, Severity};
use crate::load::yaml::{self, Limits, Node, Value};
use crate::model::MeshVersion;
use crate::source::SourceFile;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file name looked for in the working directory and its ancestors.
pub const FILE_NAME: &str = ".meshext-lint.yaml";

/// Config files larger than this are refused (a config is a few lines).
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// What a rule is set to in `rules:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    Off,
    Severity(Severity),
}

/// A `suppress:` entry with where it was written (for MX107 on an unknown rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressEntry {
    pub spec: String,
    pub location: Option<Location>,
}

/// Limits for `simulate` (enforced by the simulator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimulateLimits {
    /// Wasm instructions (wasmi fuel) per request.
    pub fuel: Option<u64>,
    /// Linear memory per module instance, MiB.
    pub memory_mib: Option<u32>,
}

/// A loaded configuration. Every field is optional; command-line flags win over it.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it came from (`None` for the default, empty configuration).
    pub path: Option<PathBuf>,
    pub mesh_version: Option<MeshVersion>,
    /// Directory loaded as context (resolved against the config file's directory).
    pub context: Option<PathBuf>,
    /// Directories or archives holding pulled extension images (resolved).
    pub images: Vec<PathBuf>,
    /// Glob patterns of files never read.
    pub ignore: Vec<String>,
    /// Per-rule overrides, IDs upper-case and known to the catalogue.
    pub rules: Vec<(String, RuleSetting)>,
    /// `None` in `fail_on` means "never fail" (`fail-on: none`); outer `None` = not set.
    pub fail_on: Option<Option<Severity>>,
    pub output_threshold: Option<Severity>,
    pub suppress: Vec<SuppressEntry>,
    /// Baseline file (resolved).
    pub baseline: Option<PathBuf>,
    pub simulate: SimulateLimits,
}

/// An invalid configuration: where, and what is wrong. Displays as `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub location: Location,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The nearest `.meshext-lint.yaml` in `start` or one of its ancestors.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// The root of the git repository containing `start` (a directory holding `.git`).
pub fn repo_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The configuration a command uses: `explicit` (`--config FILE`), else the nearest
/// `.meshext-lint.yaml` above the working directory, else the default; `disabled`
/// (`--no-config`) always gives the default.
pub fn select(explicit: Option<&Path>, disabled: bool) -> Result<Config, ConfigError> {
    if disabled {
        return Ok(Config::default());
    }
    let found = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => std::env::current_dir().ok().and_then(|d| discover(&d)),
    };
    match found {
        Some(p) => load(&p),
        None => Ok(Config::default()),
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let name = path.to_string_lossy().into_owned();
    let io_err = |e: std::io::Error| ConfigError {
        location: Location::file_only(&name),
        message: format!("cannot read the configuration file: {e}"),
    };
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io_err)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError {
            location: Location::file_only(&name),
            message: "configuration file is larger than 1 MiB".into(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| ConfigError {
        location: Location::file_only(&name),
        message: format!("not UTF-8 text: {e}"),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut cfg = parse(&name, &text, base)?;
    cfg.path = Some(path.to_path_buf());
    Ok(cfg)
}

/// Parses config text. `base` is the directory relative paths are resolved against.
pub fn parse(name: &str, text: &str, base: &Path) -> Result<Config, ConfigError> {
    let src = SourceFile::new(name, text);
    let p = Parser { src: src.clone() };
    let parsed = yaml::parse(&src.text, Limits::default());
    if let Some(e) = parsed.error {
        return Err(p.err_span(
            e.span.start,
            e.span.end,
            format!("invalid YAML: {}", e.message),
        ));
    }
    if parsed.docs.len() > 1 {
        return Err(p.err_span(
            parsed.docs[1].span.start,
            parsed.docs[1].span.start,
            "expected one YAML document",
        ));
    }
    let Some(doc) = parsed.docs.into_iter().next() else {
        return Ok(Config::default());
    };
    if let Some(d) = doc.duplicates.first() {
        return Err(p.err_span(
            d.span.start,
            d.span.end,
            format!("duplicate key `{}`", d.key),
        ));
    }
    let Some(root) = doc.root else {
        return Ok(Config::default());
    };
    if matches!(root.value, Value::Null) {
        return Ok(Config::default());
    }
    let mut cfg = Config::default();
    for (k, v) in p.map(&root, "the configuration")? {
        let key = p.key(k)?;
        match key.as_str() {
            "mesh-version" => {
                let s = p.string(v, &format!("`{key}`"))?;
                cfg.mesh_version = Some(MeshVersion::parse(s).ok_or_else(|| {
                    p.err(v, format!("not a mesh version: {s:?} (expected e.g. v2.1)"))
                })?);
            }
            "context" => cfg.context = Some(base.join(p.string(v, &format!("`{key}`"))?)),
            "images" => {
                for item in p.seq(v, &key)? {
                    cfg.images
                        .push(base.join(p.string(item, "an image source")?));
                }
            }
            "ignore" => {
                for item in p.seq(v, &key)? {
                    let pat = p.string(item, "an ignore pattern")?;
                    globset::Glob::new(pat)
                        .map_err(|e| p.err(item, format!("invalid glob pattern: {e}")))?;
                    cfg.ignore.push(pat.to_string());
                }
            }
            "rules" => {
                for (rk, rv) in p.map(v, "`rules`")? {
                    let id = p.key(rk)?.to_ascii_uppercase();
                    if crate::rules::get(&id).is_none() {
                        return Err(p.err(
                            rk,
                            format!("unknown rule {id:?}; `meshext-lint rules` lists them"),
                        ));
                    }
                    let setting = match rv.as_str().or(match rv.value {
                        Value::Bool(false) => Some("off"),
                        _ => None,
                    }) {
                        Some("off") => RuleSetting::Off,
                        Some(s) => RuleSetting::Severity(Severity::parse(s).ok_or_else(|| {
                            p.err(
                                rv,
                                format!("expected off, error, warning or info, not {s:?}"),
                            )
                        })?),
                        None => return Err(p.err(rv, "expected off, error, warning or info")),
                    };
                    cfg.rules.push((id, setting));
                }
            }
            "fail-on" => {
                let s = p.string(v, &format!("`{key}`"))?;
                cfg.fail_on = Some(match s {
                    "none" => None,
                    _ => Some(Severity::parse(s).ok_or_else(|| {
                        p.err(
                            v,
                            format!("expected error, warning, info or none, not {s:?}"),
                        )
                    })?),
                });
            }
            "output-threshold" => {
                let s = p.string(v, &format!("`{key}`"))?;
                cfg.output_threshold = Some(Severity::parse(s).ok_or_else(|| {
                    p.err(v, format!("expected error, warning or info, not {s:?}"))
                })?);
            }
            "suppress" => {
                for item in p.seq(v, &key)? {
                    let spec = p.string(item, "a suppression")?;
                    crate::suppress::Pattern::parse(spec).map_err(|e| p.err(item, e))?;
                    cfg.suppress.push(SuppressEntry {
                        spec: spec.to_string(),
                        location: Some(p.loc(item)),
                    });
                }
            }
            "baseline" => cfg.baseline = Some(base.join(p.string(v, &format!("`{key}`"))?)),
            "simulate" => {
                for (sk, sv) in p.map(v, "`simulate`")? {
                    match p.key(sk)?.as_str() {
                        "fuel" => cfg.simulate.fuel = Some(p.uint(sv, 1, u64::MAX)?),
                        "memory-mib" => cfg.simulate.memory_mib = Some(p.uint(sv, 1, 4096)? as u32),
                        other => {
                            return Err(p.err(
                                sk,
                                format!(
                                    "unknown key `simulate.{other}` (expected fuel, memory-mib)"
                                ),
                            ))
                        }
                    }
                }
            }
            other => {
                return Err(p.err(
                    k,
                    format!(
                        "unknown key `{other}` (expected one of: {})",
                        KEYS.join(", ")
                    ),
                ))
            }
        }
    }
    Ok(cfg)
}

const KEYS: &[&str] = &[
    "mesh-version",
    "context",
    "images",
    "ignore",
    "rules",
    "fail-on",
    "output-threshold",
    "suppress",
    "baseline",
    "simulate",
];

/// Typed accessors that turn a wrong shape into an error at the node.
struct Parser {
    src: Arc<SourceFile>,
}

impl Parser {
    fn loc(&self, n: &Node) -> Location {
        self.src.location(n.span.start, n.span.end)
    }

    fn err_span(&self, start: usize, end: usize, msg: impl Into<String>) -> ConfigError {
        ConfigError {
            location: self.src.location(start, end),
            message: msg.into(),
        }
    }

    fn err(&self, n: &Node, msg: impl Into<String>) -> ConfigError {
        self.err_span(n.span.start, n.span.end, msg)
    }

    fn map<'n>(&self, n: &'n Node, what: &str) -> Result<&'n [(Node, Node)], ConfigError> {
        match &n.value {
            Value::Map(m) => Ok(m),
            Value::Null => Ok(&[]),
            _ => Err(self.err(n, format!("{what} must be a mapping"))),
        }
    }

    fn seq<'n>(&self, n: &'n Node, key: &str) -> Result<&'n [Node], ConfigError> {
        match &n.value {
            Value::Seq(s) => Ok(s),
            Value::Null => Ok(&[]),
            _ => Err(self.err(n, format!("`{key}` must be a list"))),
        }
    }

    fn key(&self, n: &Node) -> Result<String, ConfigError> {
        n.as_str()
            .map(str::to_string)
            .ok_or_else(|| self.err(n, "keys must be strings"))
    }

    fn string<'n>(&self, n: &'n Node, what: &str) -> Result<&'n str, ConfigError> {
        n.as_str()
            .ok_or_else(|| self.err(n, format!("{what} must be a string")))
    }

    fn uint(&self, n: &Node, min: u64, max: u64) -> Result<u64, ConfigError> {
        match n.value {
            Value::Int(i) if i >= 0 && (i as u64) >= min && (i as u64) <= max => Ok(i as u64),
            _ => Err(self.err(n, format!("expected an integer from {min} to {max}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Config {
        parse("c.yaml", text, Path::new("/repo")).unwrap()
    }

    fn bad(text: &str) -> String {
        parse("c.yaml", text, Path::new("/repo"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_every_setting() {
        let c = ok("mesh-version: v2.2\ncontext: manifests\nimages: [images]\nignore: ['vendor/**']\n\
rules: {MX102: off, mx106: warning}\nfail-on: warning\noutput-threshold: warning\n\
suppress: ['MX101=Deployment shop/*']\nbaseline: base.json\nsimulate: {fuel: 1000, memory-mib: 16}\n");
        assert_eq!(c.mesh_version, Some(MeshVersion::V2_2));
        assert_eq!(c.context, Some(PathBuf::from("/repo/manifests")));
        assert_eq!(c.images, vec![PathBuf::from("/repo/images")]);
        assert_eq!(c.ignore, vec!["vendor/**"]);
        assert_eq!(
            c.rules,
            vec![
                ("MX102".into(), RuleSetting::Off),
                ("MX106".into(), RuleSetting::Severity(Severity::Warning))
            ]
        );
        assert_eq!(c.fail_on, Some(Some(Severity::Warning)));
        assert_eq!(c.output_threshold, Some(Severity::Warning));
        assert_eq!(c.suppress[0].spec, "MX101=Deployment shop/*");
        assert_eq!(c.suppress[0].location.as_ref().unwrap().line, 8);
        assert_eq!(c.baseline, Some(PathBuf::from("/repo/base.json")));
        assert_eq!(c.simulate.fuel, Some(1000));
        assert_eq!(c.simulate.memory_mib, Some(16));
    }

    #[test]
    fn empty_file_is_the_default() {
        assert!(ok("").rules.is_empty());
        assert!(ok("# only a comment\n").mesh_version.is_none());
        assert_eq!(ok("fail-on: none\n").fail_on, Some(None));
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(
            bad("fail-on: error\nmesh-versoin: v2.1\n"),
            "c.yaml:2:1: unknown key `mesh-versoin` (expected one of: mesh-version, context, images, ignore, rules, fail-on, output-threshold, suppress, baseline, simulate)"
        );
        assert!(bad("rules:\n  MX999: off\n").starts_with("c.yaml:2:3: unknown rule \"MX999\""));
        assert!(bad("rules: {MX101: loud}\n").starts_with("c.yaml:1:16: expected off"));
        assert!(
            bad("mesh-version: 3\n").starts_with("c.yaml:1:15: `mesh-version` must be a string")
        );
        assert!(bad("mesh-version: vX\n").starts_with("c.yaml:1:15: not a mesh version"));
        assert!(bad("ignore: ['a[']\n").starts_with("c.yaml:1:10: invalid glob"));
        assert!(bad("simulate: {fuel: -1}\n").starts_with("c.yaml:1:18: expected an integer"));
        assert!(bad("simulate: {stack: 1}\n").contains("unknown key `simulate.stack`"));
        assert!(bad("suppress: ['=x']\n").starts_with("c.yaml:1:12:"));
        assert!(bad("- a\n").starts_with("c.yaml:1:1: the configuration must be a mapping"));
        assert!(bad("a: [\n").starts_with("c.yaml:"));
        assert!(bad("fail-on: error\nfail-on: info\n").contains("duplicate key `fail-on`"));
        assert!(bad("a: 1\n---\nb: 2\n").contains("one YAML document"));
    }

    #[test]
    fn discovery_walks_up() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(discover(&sub), None);
        std::fs::write(dir.path().join(FILE_NAME), "fail-on: info\n").unwrap();
        assert_eq!(discover(&sub), Some(dir.path().join(FILE_NAME)));
        let c = load(&dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(c.fail_on, Some(Some(Severity::Info)));
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        assert_eq!(repo_root(&sub).as_deref(), Some(dir.path()));
    }
}

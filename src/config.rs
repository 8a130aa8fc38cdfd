//! The configuration file `.meshext-lint.yaml`: found by walking up from the working
//! directory (or named with `--config`), parsed with span-carrying YAML and validated strictly,
//! so a typo is an error at `file:line:col` (exit 2) rather than a silently ignored setting.
//!
//! Paths in the file (`context`, `images`, `baseline`) are relative to the file's directory.
//! The format is documented in `docs/configuration.md`.

use crate::diag::{Location, Severity};
pub use crate::load::typed::InputError;
use crate::load::typed::{self, Dialect, Pairs, Problem};
use crate::load::yaml::Limits;
use crate::model::MeshVersion;
use crate::source::SourceFile;
use serde::de::{self, Error as _, IntoDeserializer, Visitor};
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

/// The file name looked for in the working directory and its ancestors.
pub const FILE_NAME: &str = ".meshext-lint.yaml";

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
    /// Base URL of the rule pages (`docs-url`), checked and ending in `/`.
    pub docs_url: Option<String>,
    /// `limits:` budgets (docs/limits.md); `--limit` flags win over them.
    pub limits: Vec<(crate::limits::Limit, u64)>,
}

/// An invalid configuration file (the error type of every input file).
pub type ConfigError = InputError;

/// Other names the configuration file may have, after [`FILE_NAME`].
pub const ALT_FILE_NAMES: &[&str] = &[".meshext-lint.yml"];

/// The nearest `.meshext-lint.yaml` (or `.yml`) in `start` or one of its ancestors, up to the
/// root of the git repository holding `start`: a configuration above the repository belongs
/// to something else.
pub fn discover(start: &Path) -> Option<PathBuf> {
    for dir in start.ancestors() {
        let found = std::iter::once(FILE_NAME)
            .chain(ALT_FILE_NAMES.iter().copied())
            .map(|n| dir.join(n))
            .find(|p| p.is_file());
        if found.is_some() {
            return found;
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
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
    let cfg = match found {
        Some(p) => load(&p)?,
        None => Config::default(),
    };
    for (l, v) in &cfg.limits {
        crate::limits::set_from_config(*l, *v);
    }
    Ok(cfg)
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let name = path.to_string_lossy().into_owned();
    let io_err = |e: std::io::Error| {
        ConfigError::file(&name, format!("cannot read the configuration file: {e}"))
    };
    use crate::load::read::{read_regular, ReadError};
    let bytes = match read_regular(path, crate::limits::get(crate::limits::Limit::ConfigBytes)) {
        Ok(b) => b,
        Err(ReadError::Io(e)) => return Err(io_err(e)),
        Err(ReadError::TooLarge { .. }) => {
            return Err(ConfigError::file(
                &name,
                "configuration file is larger than 1 MiB",
            ))
        }
        Err(e @ ReadError::NotRegular) => {
            return Err(ConfigError::file(
                &name,
                format!("cannot read the configuration file: {e}"),
            ))
        }
    };
    let text = String::from_utf8(bytes)
        .map_err(|e| ConfigError::file(&name, format!("not UTF-8 text: {e}")))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut cfg = parse(&name, &text, base)?;
    cfg.path = Some(path.to_path_buf());
    Ok(cfg)
}

/// Parses config text. `base` is the directory relative paths are resolved against.
pub fn parse(name: &str, text: &str, base: &Path) -> Result<Config, ConfigError> {
    let src = SourceFile::new(name, text);
    let docs = typed::parse_yaml(&src, Limits::default())?;
    if let Some(second) = docs.get(1) {
        let at = second.span.start;
        return Err(ConfigError {
            location: src.location(at, at),
            message: "expected one YAML document".into(),
            help: None,
            pointer: None,
        });
    }
    let Some(doc) = docs.into_iter().next() else {
        return Ok(Config::default());
    };
    typed::reject_duplicates(&src, &doc)?;
    let Some(root) = doc.root else {
        return Ok(Config::default());
    };
    let file: ConfigFile = typed::from_node(&src, &root, DIALECT, describe)?;
    Ok(file.resolve(base, |ptr| {
        ConfigError::at_pointer(&src, &root, ptr, "").location
    }))
}

/// Keys must be strings and values exactly typed; `key:` with no value is an empty list.
const DIALECT: Dialect = Dialect {
    string_keys: true,
    scalars_as_text: false,
    null_is_empty: true,
    struct_order: false,
};

/// The file as written. Field order is the order `unknown key` lists them in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    #[serde(default, deserialize_with = "mesh_version")]
    mesh_version: Option<MeshVersion>,
    context: Option<String>,
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    ignore: Vec<GlobPattern>,
    #[serde(default)]
    rules: Pairs<KnownRule, RuleSettingIn>,
    fail_on: Option<FailOn>,
    output_threshold: Option<SeverityName>,
    #[serde(default)]
    suppress: Vec<SuppressionSpec>,
    baseline: Option<String>,
    #[serde(default)]
    simulate: SimulateIn,
    docs_url: Option<DocsUrl>,
    #[serde(default)]
    limits: Pairs<KnownLimit, LimitValue>,
}

/// A budget name of `crate::limits`.
struct KnownLimit(crate::limits::Limit);

impl<'de> Deserialize<'de> for KnownLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        crate::limits::by_name(&name)
            .map(KnownLimit)
            .ok_or_else(|| D::Error::custom(crate::limits::unknown(&name)))
    }
}

/// A budget: a positive integer, or a size such as `64MiB`.
struct LimitValue(u64);

impl<'de> Deserialize<'de> for LimitValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LimitValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a positive integer or a size such as 64MiB")
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<LimitValue, E> {
                self.visit_str(&i.to_string())
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<LimitValue, E> {
                crate::limits::parse_value(s)
                    .map(LimitValue)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SimulateIn {
    fuel: Option<Bounded<1, { u64::MAX }>>,
    memory_mib: Option<Bounded<1, 4096>>,
}

impl ConfigFile {
    /// The configuration, paths resolved against `base`; `location` maps a JSON pointer to
    /// where it is written.
    fn resolve(self, base: &Path, location: impl Fn(&str) -> Location) -> Config {
        Config {
            path: None,
            mesh_version: self.mesh_version,
            context: self.context.map(|c| base.join(c)),
            images: self.images.iter().map(|i| base.join(i)).collect(),
            ignore: self.ignore.into_iter().map(|g| g.0).collect(),
            rules: (self.rules.0.into_iter())
                .map(|(id, s)| (id.0, s.0))
                .collect(),
            fail_on: self.fail_on.map(FailOn::severity),
            output_threshold: self.output_threshold.map(Severity::from),
            suppress: (self.suppress.into_iter().enumerate())
                .map(|(i, s)| SuppressEntry {
                    spec: s.0,
                    location: Some(location(&format!("/suppress/{i}"))),
                })
                .collect(),
            baseline: self.baseline.map(|b| base.join(b)),
            simulate: SimulateLimits {
                fuel: self.simulate.fuel.map(|b| b.0),
                memory_mib: self.simulate.memory_mib.map(|b| b.0 as u32),
            },
            docs_url: self.docs_url.map(|u| u.0),
            limits: (self.limits.0.into_iter())
                .map(|(l, v)| (l.0, v.0))
                .collect(),
        }
    }
}

/// The wording of a problem at `path`.
fn describe(path: &[&str], problem: &Problem) -> String {
    match (problem, path) {
        (Problem::UnknownKey { key, expected }, [_]) => {
            format!(
                "unknown key `{key}` (expected one of: {})",
                expected.join(", ")
            )
        }
        (Problem::UnknownKey { key, expected }, [section, ..]) => {
            format!(
                "unknown key `{section}.{key}` (expected {})",
                expected.join(", ")
            )
        }
        (Problem::Type(_), []) => "the configuration must be a mapping".into(),
        (Problem::Type(e), [key]) => format!("`{key}` must be {e}"),
        (Problem::Type(_), ["images", _]) => "an image source must be a string".into(),
        (Problem::Type(_), ["ignore", _]) => "an ignore pattern must be a string".into(),
        (Problem::Type(_), ["suppress", _]) => "a suppression must be a string".into(),
        (Problem::Type(e), _) => format!("expected {e}"),
        (Problem::UnknownVariant { variant, expected }, _) => {
            format!("expected {}, not {variant:?}", typed::or_list(expected))
        }
        (Problem::NonStringKey, _) => "keys must be strings".into(),
        (Problem::MissingKey(key), _) => format!("`{key}` is required"),
        (Problem::Message(m), _) => m.clone(),
        (Problem::UnknownKey { key, .. }, []) => format!("unknown key `{key}`"),
    }
}

fn mesh_version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MeshVersion>, D::Error> {
    let s = String::deserialize(d)?;
    MeshVersion::parse(&s)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("not a mesh version: {s:?} (expected e.g. v2.1)")))
}

/// An ignore pattern, checked to be a valid glob.
struct GlobPattern(String);

impl<'de> Deserialize<'de> for GlobPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        globset::Glob::new(&s)
            .map_err(|e| D::Error::custom(format!("invalid glob pattern: {e}")))?;
        Ok(GlobPattern(s))
    }
}

/// A suppression spec, checked to parse.
struct SuppressionSpec(String);

impl<'de> Deserialize<'de> for SuppressionSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        crate::suppress::Pattern::parse(&s).map_err(D::Error::custom)?;
        Ok(SuppressionSpec(s))
    }
}

/// A rule of the catalogue by ID (any case) or name (`unknown-phase`), kept as its ID.
struct KnownRule(String);

impl<'de> Deserialize<'de> for KnownRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let given = String::deserialize(d)?;
        match crate::rules::find(&given) {
            Some(rule) => Ok(KnownRule(rule.id.clone())),
            None => Err(D::Error::custom(format!(
                "unknown rule {:?}; `meshext-lint rules` lists them",
                given.to_ascii_uppercase()
            ))),
        }
    }
}

/// `docs-url`: checked like `--docs-url`.
struct DocsUrl(String);

impl<'de> Deserialize<'de> for DocsUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        crate::report::docs_base(&s)
            .map(DocsUrl)
            .map_err(|e| D::Error::custom(e.replacen("--docs-url", "docs-url", 1)))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum SettingName {
    Off,
    Error,
    Warning,
    Info,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum FailOn {
    Error,
    Warning,
    Info,
    None,
}

impl FailOn {
    fn severity(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::None => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum SeverityName {
    Error,
    Warning,
    Info,
}

impl From<SeverityName> for Severity {
    fn from(s: SeverityName) -> Severity {
        match s {
            SeverityName::Error => Severity::Error,
            SeverityName::Warning => Severity::Warning,
            SeverityName::Info => Severity::Info,
        }
    }
}

/// A rule's setting: a [`SettingName`], or `false` for off.
struct RuleSettingIn(RuleSetting);

impl<'de> Deserialize<'de> for RuleSettingIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RuleSettingIn;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("off, error, warning or info")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<RuleSettingIn, E> {
                match b {
                    false => Ok(RuleSettingIn(RuleSetting::Off)),
                    true => Err(E::invalid_type(de::Unexpected::Bool(b), &self)),
                }
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RuleSettingIn, E> {
                Ok(RuleSettingIn(
                    match SettingName::deserialize(s.into_deserializer())? {
                        SettingName::Off => RuleSetting::Off,
                        SettingName::Error => RuleSetting::Severity(Severity::Error),
                        SettingName::Warning => RuleSetting::Severity(Severity::Warning),
                        SettingName::Info => RuleSetting::Severity(Severity::Info),
                    },
                ))
            }
        }
        d.deserialize_any(V)
    }
}

/// An integer from `MIN` to `MAX`.
struct Bounded<const MIN: u64, const MAX: u64>(u64);

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MIN: u64, const MAX: u64>;
        impl<'de, const MIN: u64, const MAX: u64> Visitor<'de> for V<MIN, MAX> {
            type Value = Bounded<MIN, MAX>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "an integer from {MIN} to {MAX}")
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<Self::Value, E> {
                match u64::try_from(i) {
                    Ok(u) if (MIN..=MAX).contains(&u) => Ok(Bounded(u)),
                    _ => Err(E::custom(format!(
                        "expected an integer from {MIN} to {MAX}"
                    ))),
                }
            }
        }
        d.deserialize_any(V::<MIN, MAX>)
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
    fn rules_by_name_and_docs_url() {
        let c =
            ok("rules: {unknown-phase: off, Duplicate-Key: info}\ndocs-url: https://x.example/d\n");
        assert_eq!(
            c.rules,
            vec![
                ("MX301".into(), RuleSetting::Off),
                ("MX102".into(), RuleSetting::Severity(Severity::Info))
            ]
        );
        assert_eq!(c.docs_url.as_deref(), Some("https://x.example/d/"));
        assert!(bad("docs-url: rel/path\n").starts_with("c.yaml:1:11: docs-url \"rel/path\""));
        assert!(bad("docs-url: [a]\n").starts_with("c.yaml:1:11: `docs-url` must be a string"));
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
            "c.yaml:2:1: unknown key `mesh-versoin` (expected one of: mesh-version, context, images, ignore, rules, fail-on, output-threshold, suppress, baseline, simulate, docs-url, limits)"
        );
        assert!(bad("limits:\n  nope: 1\n").starts_with("c.yaml:2:3: unknown limit `nope`"));
        assert!(bad("limits: {yaml-depth: 0}\n")
            .starts_with("c.yaml:1:22: `0`: a limit must be at least 1"));
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
        assert_eq!(
            bad("fail-on: error\nfail-on: info\n"),
            "c.yaml:2:1: duplicate key `fail-on`\n  = help: `fail-on` is first set at line 1, column 1; keep one of them"
        );
        assert_eq!(
            bad("rules: {MX101: true}\n"),
            "c.yaml:1:16: expected off, error, warning or info"
        );
        assert_eq!(
            bad("fail-on: nope\n"),
            "c.yaml:1:10: expected error, warning, info or none, not \"nope\""
        );
        assert_eq!(
            bad("images: {a: b}\n"),
            "c.yaml:1:9: `images` must be a list"
        );
        assert_eq!(
            bad("images: [~]\n"),
            "c.yaml:1:10: an image source must be a string"
        );
        assert_eq!(bad("1: x\n"), "c.yaml:1:1: keys must be strings");
        assert_eq!(
            bad("simulate: {fuel: '5'}\n"),
            "c.yaml:1:18: expected an integer from 1 to 18446744073709551615"
        );
        assert!(bad("a: 1\n---\nb: 2\n").contains("one YAML document"));
    }

    #[test]
    fn discovery_finds_yml_and_stops_at_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "fail-on: warning\n").unwrap();
        let repo = dir.path().join("repo");
        let sub = repo.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::create_dir(repo.join(".git")).unwrap();
        // Outside the repository's root: not this repository's configuration.
        assert_eq!(discover(&sub), None);
        std::fs::write(repo.join(".meshext-lint.yml"), "fail-on: warning\n").unwrap();
        assert_eq!(discover(&sub), Some(repo.join(".meshext-lint.yml")));
        // `.yaml` wins when both exist in one directory.
        std::fs::write(repo.join(FILE_NAME), "fail-on: warning\n").unwrap();
        assert_eq!(discover(&sub), Some(repo.join(FILE_NAME)));
        // Without a repository, the walk goes up to the filesystem root.
        assert_eq!(
            discover(&dir.path().join("x")),
            Some(dir.path().join(FILE_NAME))
        );
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

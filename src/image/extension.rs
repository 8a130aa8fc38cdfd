//! An SME image's `/manifest.yaml` and module (maistra `mec/pkg/model/types.go`), read into
//! typed facts and [`ManifestProblem`]s; `rules::images` judges them (MX403, MX404).

use super::fs::Node as FsNode;
use super::Image;
use crate::diag::Location;
use crate::load::yaml::{self, Node, Value};
use crate::model::PHASES;
use crate::source::SourceFile;
use jsonschema::error::ValidationErrorKind;
use std::sync::{Arc, OnceLock};

/// What is wrong with an SME image's package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestProblemKind {
    /// `/manifest.yaml` is missing, unreadable or invalid.
    Manifest,
    /// The module it names is not a file in the image.
    Module,
}

/// One problem of an image's package, located inside the image (`REF!/manifest.yaml:L:C`).
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestProblem {
    pub kind: ManifestProblemKind,
    pub message: String,
    pub at: Location,
    pub help: Option<String>,
    pub related: Option<(Location, String)>,
}

impl ManifestProblem {
    fn new(kind: ManifestProblemKind, message: impl Into<String>) -> ManifestProblem {
        ManifestProblem {
            kind,
            message: message.into(),
            at: Location::file_only(String::new()),
            help: None,
            related: None,
        }
    }

    fn at(mut self, at: Location) -> Self {
        self.at = at;
        self
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    fn related(mut self, at: Location, note: impl Into<String>) -> Self {
        self.related = Some((at, note.into()));
        self
    }
}

/// The fields of `manifest.yaml`, as far as they could be read (invalid values are `None`
/// and reported).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    pub schema_version: Option<String>,
    pub name: Option<String>,
    pub phase: Option<String>,
    pub priority: Option<i64>,
    pub module: Option<String>,
}

/// What an SME image provides: the manifest (defaults for `spec.phase`/`spec.priority`) and the
/// module bytes, with the problems found, located inside the image (`REF!/manifest.yaml:L:C`).
#[derive(Debug, Clone, Default)]
pub struct ExtensionPackage {
    pub manifest: Option<Manifest>,
    pub manifest_source: Option<Arc<SourceFile>>,
    /// The parsed manifest, for locating fields ([`ExtensionPackage::location_of`]).
    pub manifest_root: Option<Node>,
    /// The module path as resolved in the image (`/ext.wasm`).
    pub module_path: Option<String>,
    pub module_bytes: Option<Arc<[u8]>>,
    pub problems: Vec<ManifestProblem>,
}

impl ExtensionPackage {
    /// The location of a top-level manifest key's value (`phase`), else of the whole file.
    pub fn location_of(&self, key: &str) -> Option<Location> {
        let src = self.manifest_source.as_ref()?;
        let root = self.manifest_root.as_ref()?;
        let span = root.get(key).map(|n| n.span).unwrap_or(root.span);
        Some(src.location(span.start, span.end))
    }
}

/// Reads the extension of an image, naming locations after `image.reference`.
pub fn read_extension(image: &Image) -> ExtensionPackage {
    read_extension_as(image, &image.reference)
}

/// Reads the extension, naming locations after `reference` (the SME's `spec.image`).
pub fn read_extension_as(image: &Image, reference: &str) -> ExtensionPackage {
    let mut pkg = ExtensionPackage::default();
    let name = format!("{reference}!/manifest.yaml");
    let bytes = match image.file("/manifest.yaml") {
        Ok(Some(b)) => b,
        Ok(None) => {
            let mut d = ManifestProblem::new(
                ManifestProblemKind::Manifest,
                format!("image `{reference}` has no /manifest.yaml"),
            )
            .at(Location::file_only(name));
            d = if image.plugin_wasm().is_some() {
                d.help("this is a WasmPlugin image (plugin.wasm); use it from a WasmPlugin, or add a manifest.yaml for a ServiceMeshExtension")
            } else {
                d.help("add /manifest.yaml with schemaVersion: 1, phase, priority and module (see `meshext-lint pack`)")
            };
            pkg.problems.push(d);
            return pkg;
        }
        Err(e) => {
            pkg.problems.push(
                ManifestProblem::new(
                    ManifestProblemKind::Manifest,
                    format!("cannot read /manifest.yaml: {e}"),
                )
                .at(Location::file_only(name)),
            );
            return pkg;
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        pkg.problems.push(
            ManifestProblem::new(
                ManifestProblemKind::Manifest,
                "/manifest.yaml is not UTF-8 text",
            )
            .at(Location::file_only(name)),
        );
        return pkg;
    };
    let src = SourceFile::new(name, text);
    pkg.manifest_source = Some(src.clone());
    let parsed = yaml::parse(text, yaml::Limits::default());
    if let Some(e) = parsed.error {
        pkg.problems.push(
            ManifestProblem::new(
                ManifestProblemKind::Manifest,
                format!("/manifest.yaml is not valid YAML: {}", e.message),
            )
            .at(src.location(e.span.start, e.span.end))
            .help("the cacher fails with \"failed to unmarshal manifest.yaml\""),
        );
        return pkg;
    }
    // The cacher unmarshals the first document only; more content is never checked by it.
    if let Some(extra) = parsed.docs.iter().skip(1).find(|d| d.root.is_some()) {
        pkg.problems.push(
            ManifestProblem::new(
                ManifestProblemKind::Manifest,
                format!(
                    "/manifest.yaml holds {} documents; only the first is read",
                    parsed.docs.len()
                ),
            )
            .at(src.location(extra.span.start, extra.span.start))
            .help(
                "the cacher unmarshals the first YAML document and ignores the rest; remove them",
            ),
        );
    }
    let Some(doc) = parsed.docs.into_iter().next() else {
        pkg.problems.push(
            ManifestProblem::new(ManifestProblemKind::Manifest, "/manifest.yaml is empty")
                .at(src.location(0, 0)),
        );
        return pkg;
    };
    for dup in &doc.duplicates {
        pkg.problems.push(
            ManifestProblem::new(
                ManifestProblemKind::Manifest,
                format!("duplicate key `{}` in /manifest.yaml", dup.key),
            )
            .at(src.location(dup.span.start, dup.span.end))
            .related(
                src.location(dup.first.start, dup.first.end),
                "first defined here",
            ),
        );
    }
    let Some(root) = doc.root.filter(|r| r.as_map().is_some()) else {
        pkg.problems.push(
            ManifestProblem::new(
                ManifestProblemKind::Manifest,
                "/manifest.yaml must be a mapping",
            )
            .at(src.location(0, text.len())),
        );
        return pkg;
    };
    pkg.problems.extend(schema_problems(&root, &src));
    let m = fields(&root);
    if let (Some(path), Some(n)) = (&m.module, root.get("module")) {
        check_module(
            image,
            path,
            &mut pkg,
            src.location(n.span.start, n.span.end),
        );
    }
    pkg.manifest = Some(m);
    pkg.manifest_root = Some(root);
    pkg
}

/// The fields as the cacher reads them; invalid values are `None` (an unknown phase string is
/// kept: the cacher copies it to the SME status).
fn fields(root: &Node) -> Manifest {
    let schema_version = root.get("schemaVersion").and_then(|n| match &n.value {
        Value::Int(1) => Some("1".to_string()),
        Value::Str(s) if s == "1" => Some(s.clone()),
        _ => None,
    });
    let priority = root.get("priority").and_then(|n| match n.value {
        Value::Int(i) => Some(i),
        _ => None,
    });
    let module = root
        .get("module")
        .and_then(|n| n.as_str())
        .filter(|s| !s.trim().is_empty())
        .map(String::from);
    Manifest {
        schema_version,
        name: root.get("name").and_then(|n| n.key_text()),
        phase: root.get("phase").and_then(|n| n.as_str()).map(String::from),
        priority,
        module,
    }
}

/// The manifest as the schema sees it: like [`Node::to_json`], but the first of duplicate keys
/// wins (as for [`Node::get`]) and a float becomes an object, because the cacher's decoder does
/// not take `1.0` for an integer while JSON Schema does.
fn manifest_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Float(_) => serde_json::json!({ "float": node.key_text() }),
        Value::Seq(items) => J::Array(items.iter().map(manifest_json).collect()),
        Value::Map(entries) => {
            let mut m = serde_json::Map::new();
            for (k, v) in entries {
                m.entry(k.key_text().unwrap_or_else(|| "<complex key>".into()))
                    .or_insert_with(|| manifest_json(v));
            }
            J::Object(m)
        }
        _ => node.to_json(),
    }
}

/// The embedded `rules/schemas/manifest.json`, compiled once. It is tested, so a schema that
/// does not compile is a build bug.
fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = crate::data::file("schemas/manifest.json").expect("embedded manifest schema");
        let schema: serde_json::Value =
            serde_json::from_str(text).expect("manifest schema is JSON");
        jsonschema::validator_for(&schema).expect("manifest schema compiles")
    })
}

/// The fields the schema checks, in the order problems are reported.
const FIELDS: [&str; 4] = ["schemaVersion", "phase", "priority", "module"];

/// Validates the manifest with its schema: one problem per field at most, worded for the
/// cacher's behaviour and located at the value (a missing field: at the start of the mapping).
fn schema_problems(root: &Node, src: &SourceFile) -> Vec<ManifestProblem> {
    let mut failed: [bool; 4] = [false; 4];
    for err in validator().iter_errors(&manifest_json(root)) {
        let field = match err.kind() {
            ValidationErrorKind::Required { property } => property.as_str().map(String::from),
            _ => err
                .instance_path()
                .as_str()
                .strip_prefix('/')
                .map(|p| p.split('/').next().unwrap_or(p).to_string()),
        };
        if let Some(i) = field.and_then(|f| FIELDS.iter().position(|k| *k == f)) {
            failed[i] = true;
        }
    }
    let whole = src.location(root.span.start, root.span.start);
    let at = |n: &Node| src.location(n.span.start, n.span.end);
    let mut out = Vec::new();
    for (field, _) in FIELDS.iter().zip(failed).filter(|(_, f)| *f) {
        let p = ManifestProblem::new(ManifestProblemKind::Manifest, "");
        let Some(n) = root.get(field) else {
            let what = match *field {
                "schemaVersion" => "must be 1".to_string(),
                "phase" => format!("one of {}", PHASES.join(", ")),
                "priority" => "an integer; higher runs first".to_string(),
                _ => "the path of the .wasm file in the image".to_string(),
            };
            out.push(ManifestProblem {
                message: format!("/manifest.yaml has no `{field}` ({what})"),
                ..p.at(whole.clone())
            });
            continue;
        };
        let p = p.at(at(n));
        out.push(match *field {
            "schemaVersion" => ManifestProblem {
                message: "`schemaVersion` must be 1".into(),
                ..p
            },
            "phase" => {
                let hint = n
                    .as_str()
                    .and_then(|p| PHASES.iter().find(|k| k.eq_ignore_ascii_case(p)))
                    .map(|k| format!(" (phases are case-sensitive: `{k}`)"))
                    .unwrap_or_default();
                let shown = n.key_text().unwrap_or_else(|| "a collection".into());
                ManifestProblem {
                    message: format!("`phase: {shown}` is not one of {}{hint}", PHASES.join(", ")),
                    ..p
                }
                .help("an unknown phase is copied to the SME status and the extension is never injected")
            }
            "priority" => ManifestProblem {
                message: format!(
                    "`priority` must be an integer, got `{}`",
                    n.key_text().unwrap_or_default()
                ),
                ..p
            }
            .help("the cacher fails with \"failed to unmarshal manifest.yaml\""),
            _ => ManifestProblem {
                message: "`module` must be the path of the .wasm file in the image".into(),
                ..p
            },
        });
    }
    out
}

/// MX404 when the module named by the manifest is not a file in the image. The cacher copies
/// `<container>:/<module>`, so the path is relative to the root either way.
fn check_module(image: &Image, path: &str, pkg: &mut ExtensionPackage, at: Location) {
    let abs = format!("/{}", path.trim_start_matches('/'));
    match image.files.resolve(&abs) {
        Ok(Some((key, FsNode::File(bytes)))) => {
            pkg.module_path = Some(format!("/{key}"));
            pkg.module_bytes = Some(bytes.clone());
        }
        Ok(Some((_, _))) => {
            pkg.problems.push(
                ManifestProblem::new(
                    ManifestProblemKind::Module,
                    format!("module `{abs}` is a directory, not a file"),
                )
                .at(at),
            );
        }
        Ok(None) => {
            let wasm: Vec<String> = image
                .files
                .iter()
                .filter(|(k, n)| k.ends_with(".wasm") && matches!(n, FsNode::File(_)))
                .take(5)
                .map(|(k, _)| format!("/{k}"))
                .collect();
            let help = if wasm.is_empty() {
                "the image holds no .wasm file; copy the module into the image (`COPY ext.wasm /`) or use `meshext-lint pack`".to_string()
            } else {
                format!("the image holds {}; point `module` at it", wasm.join(", "))
            };
            pkg.problems.push(
                ManifestProblem::new(
                    ManifestProblemKind::Module,
                    format!("module `{abs}` named by /manifest.yaml is not in the image"),
                )
                .at(at)
                .help(help),
            );
        }
        Err(e) => pkg.problems.push(
            ManifestProblem::new(ManifestProblemKind::Module, format!("module `{abs}`: {e}"))
                .at(at),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::fs::FileTree;
    use crate::image::Limits;

    fn image(manifest: &str) -> Image {
        let limits = Limits::default();
        let mut files = FileTree::default();
        files
            .put(
                "manifest.yaml".into(),
                FsNode::File(manifest.as_bytes().into()),
                &limits,
            )
            .unwrap();
        files
            .put("m.wasm".into(), FsNode::File(b"\0asm"[..].into()), &limits)
            .unwrap();
        Image::unpacked("x/y:1", files)
    }

    /// (kind, message, line:col) of each problem.
    fn problems(manifest: &str) -> Vec<(ManifestProblemKind, String, String)> {
        read_extension(&image(manifest))
            .problems
            .into_iter()
            .map(|p| (p.kind, p.message, format!("{}:{}", p.at.line, p.at.column)))
            .collect()
    }

    const OK: &str = "schemaVersion: 1\nphase: PostAuthZ\npriority: 10\nmodule: m.wasm\n";

    #[test]
    fn a_valid_manifest_has_no_problem_and_gives_its_fields() {
        assert_eq!(problems(OK), []);
        let pkg = read_extension(&image(OK));
        let m = pkg.manifest.unwrap();
        assert_eq!(
            (m.phase.as_deref(), m.priority, m.module.as_deref()),
            (Some("PostAuthZ"), Some(10), Some("m.wasm"))
        );
        assert_eq!(pkg.module_path.as_deref(), Some("/m.wasm"));
    }

    #[test]
    fn the_schema_judges_as_the_cacher_decodes() {
        use ManifestProblemKind::Manifest as M;
        // A float is not an integer for the cacher (JSON Schema alone would take 1.0).
        let p = problems("schemaVersion: 1.0\nphase: PostAuthZ\npriority: 1.0\nmodule: m.wasm\n");
        assert_eq!(
            p,
            [
                (M, "`schemaVersion` must be 1".into(), "1:16".into()),
                (
                    M,
                    "`priority` must be an integer, got `1`".into(),
                    "3:11".into()
                ),
            ]
        );
        // A duplicate key is reported and its value judged as the parser keeps it (the later
        // one); a blank module and a wrong-case phase are invalid.
        let p =
            problems("schemaVersion: 1\nphase: preauthn\npriority: 1\npriority: x\nmodule: '  '\n");
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].1.starts_with("duplicate key `priority`"), "{p:?}");
        assert!(
            p[1].1.ends_with("(phases are case-sensitive: `PreAuthN`)"),
            "{p:?}"
        );
        assert_eq!(p[2].1, "`priority` must be an integer, got `x`");
        assert_eq!(
            p[3].1,
            "`module` must be the path of the .wasm file in the image"
        );
        // Missing fields are reported at the mapping, in field order.
        let p = problems("name: x\n");
        let keys: Vec<&str> = p
            .iter()
            .map(|(_, m, _)| m.split('`').nth(1).unwrap())
            .collect();
        assert_eq!(keys, ["schemaVersion", "phase", "priority", "module"]);
        assert!(p.iter().all(|(_, _, at)| at == "1:1"));
    }
}

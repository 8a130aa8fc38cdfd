//! `migrate`: each ServiceMeshExtension as the WasmPlugin that keeps what runs (issue 14).
//!
//! The engine returns facts: one [`Converted`] per SME with the WasmPlugin object and YAML,
//! and every [`Change`] a user must know about, each marked kept or not. The CLI writes and
//! renders them. Reference: maistra.md §5.6 (field and phase mapping), §3 (SME order), §5.3–§5.5
//! (WasmPlugin order, coverage and configuration delivery).
//!
//! Order: the SMEs of one phase run in istiod's order for the source version
//! ([`crate::chain::select::sort_bucket`]). Each WasmPlugin phase receives the SME phases that
//! map onto it, earlier SME phase first, and every plugin gets an explicit priority, distinct
//! within its phase and descending in that order, so creation time never decides.

pub mod emit;
pub mod proof;
pub mod render;
pub mod verify;

use crate::chain::select::{sort_bucket, Phase};
use crate::chain::{ExtInfo, WorkloadChain};
use crate::diag::Location;
use crate::model::{Extension, ExtensionConfig, Mesh, MeshVersion, ProxyType};
use crate::simulate::config::deliver;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The annotation naming the SME a WasmPlugin was made from.
pub const SOURCE_ANNOTATION: &str = "meshext-lint.io/migrated-from";

/// The WasmPlugin phases, in the order Envoy runs them (§5.4, 1.14+ layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum WpPhase {
    #[serde(rename = "AUTHN")]
    Authn,
    #[serde(rename = "AUTHZ")]
    Authz,
    #[serde(rename = "STATS")]
    Stats,
    #[serde(rename = "UNSPECIFIED_PHASE")]
    Unspecified,
}

impl WpPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            WpPhase::Authn => "AUTHN",
            WpPhase::Authz => "AUTHZ",
            WpPhase::Stats => "STATS",
            WpPhase::Unspecified => "UNSPECIFIED_PHASE",
        }
    }
}

/// SME phase → (WasmPlugin phase, rank inside it, whether the position is kept). An SME phase
/// with a lower rank runs first within the WasmPlugin phase (PostAuthN before PreAuthZ: both
/// sit between the authn filters and rbac). PostStats has no equivalent: UNSPECIFIED runs
/// before fault, cors and `istio.stats`, not after the stats filter.
const PHASES: &[(Phase, WpPhase, u8, bool)] = &[
    (Phase::PreAuthN, WpPhase::Authn, 0, true),
    (Phase::PostAuthN, WpPhase::Authz, 0, true),
    (Phase::PreAuthZ, WpPhase::Authz, 1, true),
    (Phase::PostAuthZ, WpPhase::Stats, 0, true),
    (Phase::PreStats, WpPhase::Stats, 1, true),
    (Phase::PostStats, WpPhase::Unspecified, 0, false),
];

fn phase_row(p: Phase) -> (WpPhase, u8, bool) {
    PHASES
        .iter()
        .find(|r| r.0 == p)
        .map(|r| (r.1, r.2, r.3))
        .unwrap_or((WpPhase::Unspecified, 0, false))
}

/// Gap between consecutive priorities, so a plugin can be put between two later by hand.
const PRIORITY_STEP: i64 = 10;

/// What kind of behaviour a change concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Phase,
    Priority,
    RootId,
    Config,
    Coverage,
    Image,
    NotApplied,
}

/// One difference between what ran before and what will run, or a note on how it was kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// `false`: what runs changes and no WasmPlugin placement reproduces it.
    pub kept: bool,
    pub message: String,
}

/// One SME and the WasmPlugin made from it.
#[derive(Debug, Clone, Serialize)]
pub struct Converted {
    /// `namespace/name` (the WasmPlugin keeps both).
    pub key: String,
    /// Where the SME is.
    pub location: Location,
    /// Index into `Mesh::extensions`.
    #[serde(skip)]
    pub index: usize,
    pub phase_from: Option<String>,
    pub phase_to: WpPhase,
    pub priority_from: i64,
    pub priority_to: i64,
    pub root_id_from: String,
    pub root_id_to: String,
    /// The configuration text the module received on the source version.
    pub config_from: String,
    /// The configuration text it receives from the WasmPlugin (`None`: none at all).
    pub config_to: Option<String>,
    pub url: String,
    pub changes: Vec<Change>,
    /// The WasmPlugin resource.
    pub wasm_plugin: Value,
    /// The same as YAML (with a leading comment naming the source SME).
    pub yaml: String,
}

impl Converted {
    pub fn kept(&self) -> bool {
        self.changes.iter().all(|c| c.kept)
    }

    /// Points the plugin at its repackaged image: `url` and the manifest digest as `sha256`
    /// (what the agent compares for an OCI image), and records how it was made.
    pub fn repackaged(&mut self, reference: &str, digest: &str, how: &str) {
        self.url = format!("oci://{reference}");
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        if let Some(spec) = self
            .wasm_plugin
            .get_mut("spec")
            .and_then(Value::as_object_mut)
        {
            spec.insert("url".into(), json!(self.url));
            spec.insert("sha256".into(), json!(hex));
        }
        for c in self
            .changes
            .iter_mut()
            .filter(|c| c.kind == ChangeKind::Image)
        {
            c.kept = true;
            c.message = format!(
                "image repackaged for the WasmPlugin fetcher as {reference} ({how}, manifest {digest}); url and sha256 point at it: push it before applying"
            );
        }
        self.yaml = format!(
            "{}\n{}",
            self.yaml.lines().next().unwrap_or_default(),
            emit::to_yaml(&self.wasm_plugin)
        );
    }
}

/// The reference a repackaged image gets: the SME image's repository with `-wasmplugin`
/// added to its name (`quay.io/acme/ext:1.0` → `quay.io/acme/ext-wasmplugin:1.0`, the
/// samples' convention), or `<registry>/<last path segment>:<tag>` with a registry prefix.
pub fn repackaged_reference(image: &str, registry: Option<&str>) -> Option<String> {
    let r = crate::image::parse_reference(image).ok()?;
    let tag = r
        .tag
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "latest".into());
    Some(match registry {
        Some(prefix) => format!("{}/{}:{tag}", prefix.trim_end_matches('/'), r.repository),
        None => format!("{}-wasmplugin:{tag}", r.name()),
    })
}

/// The whole migration.
#[derive(Debug, Clone)]
pub struct Migration {
    pub from: MeshVersion,
    pub to: MeshVersion,
    pub plugins: Vec<Converted>,
    /// WasmPlugins already in the inputs: left alone, but their priorities decide where the
    /// converted ones land relative to them.
    pub existing_wasm_plugins: Vec<String>,
    /// Where the chains of the result differ from the source's ([`proof::compare`]); empty
    /// when what runs is kept.
    pub differences: Vec<proof::Difference>,
    /// Places where only the order against the fault and CORS filters changes
    /// ([`proof::compare_soft`]): kept unless a VirtualService injects faults or sets CORS.
    pub soft_differences: Vec<proof::Difference>,
    /// What `--verify` saw differ between the two meshes running the same scenarios.
    pub mismatches: Vec<verify::Mismatch>,
}

impl Migration {
    pub fn kept(&self) -> bool {
        self.plugins.iter().all(Converted::kept)
            && self.differences.is_empty()
            && self.mismatches.is_empty()
    }
}

/// Starts each converted plugin's module (when pulled) with the root id it gets,
/// `<name>_root`: a module that looks its root context up by another id did not find it as
/// an SME either. Keeping the id keeps that; the note says how to make it work.
pub fn check_root_ids(m: &mut Migration, module_of: impl Fn(usize) -> Option<Arc<[u8]>>) {
    for p in &mut m.plugins {
        let Some(module) = module_of(p.index) else {
            continue;
        };
        let config = p.config_to.clone().unwrap_or_default();
        let name = p.key.replace('/', ".");
        if let Some(evidence) =
            crate::plugin_startup::root_id_miss(&module, &p.root_id_to, &name, &config, m.to)
        {
            p.changes.push(Change {
                kind: ChangeKind::RootId,
                kept: true,
                message: format!(
                    "the module registers no root context under `{}` (it logged {:?}): as an SME it did not find one either, so pluginName keeps that id and nothing changes; set pluginName to the id the module registers to make it run",
                    p.root_id_to,
                    clip(&evidence, 120)
                ),
            });
        }
    }
}

/// The mesh after the migration: every input document except the SMEs, plus the WasmPlugins,
/// on version `to`; and its chains.
pub fn result_chains(
    documents: &[Arc<crate::load::Document>],
    m: &Migration,
) -> Vec<WorkloadChain> {
    let mut docs: Vec<Arc<crate::load::Document>> = documents
        .iter()
        .filter(|d| {
            let kind = d.root.get("kind").and_then(|k| k.as_str());
            let api = d.root.get("apiVersion").and_then(|k| k.as_str());
            !(kind == Some("ServiceMeshExtension")
                && api.is_some_and(|a| a.starts_with("maistra.io/")))
        })
        .cloned()
        .collect();
    for p in &m.plugins {
        let mut l = crate::load::inputs::Loaded::default();
        crate::load::inputs::add_source(
            &mut l,
            format!("<WasmPlugin {}>", p.key),
            p.yaml.clone().into_bytes(),
        );
        docs.extend(l.documents);
    }
    let mesh = crate::model::build::build(
        &docs,
        Some((m.to, crate::model::VersionSource::CommandLine)),
    );
    crate::chain::build_chains(&mesh, &crate::chain::ExtensionDefaults::default())
}

/// Converts every SME of `mesh` (read on its own version) for a mesh running `to`.
/// `resolved` and `chains` are the chain engine's facts for the source mesh.
pub fn plan(
    mesh: &Mesh,
    resolved: &[ExtInfo],
    chains: &[WorkloadChain],
    to: MeshVersion,
) -> Migration {
    let from = mesh.version;
    let priorities = assign_priorities(mesh, resolved);
    let coverage = coverage_facts(chains);
    let plugins = resolved
        .iter()
        .map(|info| {
            let ext = &mesh.extensions[info.index];
            convert(
                ext,
                info,
                from,
                to,
                priorities.get(&info.index).copied(),
                coverage.get(&info.index),
            )
        })
        .collect();
    Migration {
        from,
        to,
        plugins,
        existing_wasm_plugins: mesh.wasm_plugins.iter().map(|p| p.meta.key()).collect(),
        differences: Vec::new(),
        soft_differences: Vec::new(),
        mismatches: Vec::new(),
    }
}

/// Explicit priorities that reproduce the source order: per WasmPlugin phase, the SME phases
/// that map onto it in rank order, each in istiod's order for the source version (root
/// namespace first for equal keys, as the per-proxy list is built).
fn assign_priorities(mesh: &Mesh, resolved: &[ExtInfo]) -> HashMap<usize, i64> {
    let root = mesh.control_plane_namespace().unwrap_or("istio-system");
    // Per WasmPlugin phase: (rank, the SMEs of one SME phase in istiod's order).
    type Groups = Vec<(u8, Vec<Arc<ExtInfo>>)>;
    let mut buckets: HashMap<WpPhase, Groups> = HashMap::new();
    for phase in Phase::ALL {
        let (wp, rank, _) = phase_row(phase);
        let mut group: Vec<Arc<ExtInfo>> = resolved
            .iter()
            .filter(|e| e.phase == Some(phase))
            .map(|e| Arc::new(e.clone()))
            .collect();
        // Root-namespace SMEs first, then the rest by namespace: the input order istiod sorts.
        group.sort_by_key(|e| (e.namespace != root, e.namespace.clone(), e.index));
        sort_bucket(mesh.version, &mut group);
        buckets.entry(wp).or_default().push((rank, group));
    }
    let mut out = HashMap::new();
    for (_, mut groups) in buckets {
        groups.sort_by_key(|g| g.0);
        let order: Vec<usize> = groups
            .iter()
            .flat_map(|g| g.1.iter().map(|e| e.index))
            .collect();
        let n = order.len() as i64;
        for (i, index) in order.into_iter().enumerate() {
            out.insert(index, (n - i as i64) * PRIORITY_STEP);
        }
    }
    out
}

/// Per SME: the classes of proxies it ran on and the inbound ports it was patched onto.
#[derive(Debug, Default, Clone)]
struct Coverage {
    sidecars: BTreeSet<String>,
    gateways: BTreeSet<String>,
    /// Patched inbound ports over every sidecar it ran on.
    patched_ports: BTreeSet<u16>,
    /// Sidecars where it ran on some but not every HTTP inbound port.
    partial: BTreeSet<String>,
}

fn coverage_facts(chains: &[WorkloadChain]) -> HashMap<usize, Coverage> {
    let mut out: HashMap<usize, Coverage> = HashMap::new();
    for c in chains {
        for e in c.extensions() {
            let cov = out.entry(e.index).or_default();
            match c.proxy {
                ProxyType::Gateway => {
                    cov.gateways.insert(c.key());
                }
                ProxyType::Sidecar => {
                    cov.sidecars.insert(c.key());
                    if let Some(ports) = &c.ports {
                        cov.patched_ports
                            .extend(ports.patched.iter().filter_map(|p| p.parse::<u16>().ok()));
                        let http: BTreeSet<&str> = ports
                            .candidates
                            .iter()
                            .filter(|p| p.http)
                            .map(|p| p.port.as_str())
                            .collect();
                        let patched: BTreeSet<&str> =
                            ports.patched.iter().map(String::as_str).collect();
                        if http.len() > patched.len() {
                            cov.partial.insert(c.key());
                        }
                    }
                }
            }
        }
    }
    out
}

fn convert(
    ext: &Extension,
    info: &ExtInfo,
    from: MeshVersion,
    to: MeshVersion,
    priority: Option<i64>,
    coverage: Option<&Coverage>,
) -> Converted {
    let mut changes = Vec::new();
    let meta = &ext.meta;
    let doc = meta.doc.json();

    // Phase and priority.
    let (phase_to, _, phase_kept) = match info.phase {
        Some(p) => phase_row(p),
        None => (WpPhase::Unspecified, 0, false),
    };
    let phase_from = info.phase.map(|p| p.as_str().to_string());
    match info.phase {
        Some(p) if phase_kept => changes.push(Change {
            kind: ChangeKind::Phase,
            kept: true,
            message: format!("{p} → {}", phase_to.as_str()),
        }),
        Some(p) => changes.push(Change {
            kind: ChangeKind::Phase,
            kept: false,
            message: format!(
                "{p} has no WasmPlugin equivalent: {} (the closest) runs before fault, cors and istio.stats, not after the stats filter",
                phase_to.as_str()
            ),
        }),
        None => {}
    }
    let priority_to = priority.unwrap_or(0);
    if info.priority != priority_to {
        changes.push(Change {
            kind: ChangeKind::Priority,
            kept: true,
            message: format!(
                "priority {} → {priority_to}: explicit and distinct within {}, so the plugins keep the SMEs' order (an unset WasmPlugin priority would sort after every explicit one)",
                info.priority,
                phase_to.as_str()
            ),
        });
    }
    if let Some(skip) = &info.skip {
        changes.push(Change {
            kind: ChangeKind::NotApplied,
            kept: false,
            message: format!(
                "istiod never applied this SME ({skip}); the WasmPlugin will run: delete it if it should not"
            ),
        });
    }

    // Root id: SMEs get `<name>_root`; keeping it as pluginName keeps modules that dispatch on it.
    let root_id_from = format!("{}_root", meta.name);
    let root_id_to = root_id_from.clone();

    // Configuration.
    let config_from = deliver(&ext.config, from);
    let (plugin_config, config_note) = plugin_config(&ext.config);
    let config_to = plugin_config.as_ref().map(crate::simulate::config::go_json);
    changes.push(config_note);

    // Image: the SME image format (manifest.yaml + module) is not what the WasmPlugin fetcher
    // reads (plugin.wasm); the image must be repackaged.
    let image = ext.image.clone().unwrap_or_default();
    let url = if image.contains("://") {
        image.clone()
    } else {
        format!("oci://{image}")
    };
    changes.push(Change {
        kind: ChangeKind::Image,
        kept: false,
        message: format!(
            "url {url}: the WasmPlugin fetcher reads `plugin.wasm`, not an SME image's manifest.yaml and module; repackage the image (pass --images with --out or --image-out and migrate does it, or `meshext-lint pack --format wasmplugin`) and point url at it{}",
            info.digest
                .as_deref()
                .map(|d| format!(" (the pulled SME image is {d})"))
                .unwrap_or_default()
        ),
    });

    // Coverage: SMEs run on sidecar inbound chains and gateways only.
    let mut matches = None;
    if let Some(cov) = coverage {
        coverage_changes(cov, to, &mut matches, &mut changes);
    }

    // The resource.
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(meta.name));
    metadata.insert("namespace".into(), json!(meta.namespace));
    if let Some(l) = doc.pointer("/metadata/labels").filter(|v| v.is_object()) {
        metadata.insert("labels".into(), l.clone());
    }
    let mut annotations = doc
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    annotations.insert(
        SOURCE_ANNOTATION.into(),
        json!(format!("ServiceMeshExtension {}", meta.key())),
    );
    metadata.insert("annotations".into(), Value::Object(annotations));
    let mut spec = Map::new();
    if let Some(sel) = &ext.selector {
        spec.insert("selector".into(), json!({ "matchLabels": sel }));
    }
    spec.insert("url".into(), json!(url));
    spec.insert("pluginName".into(), json!(root_id_to));
    spec.insert("phase".into(), json!(phase_to.as_str()));
    spec.insert("priority".into(), json!(priority_to));
    if let Some(c) = &plugin_config {
        spec.insert("pluginConfig".into(), c.clone());
    }
    if let Some(m) = matches {
        spec.insert("match".into(), m);
    }
    let wasm_plugin = json!({
        "apiVersion": "extensions.istio.io/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": Value::Object(metadata),
        "spec": Value::Object(spec),
    });
    let location = meta.loc("");
    let yaml = format!(
        "# Migrated by meshext-lint from ServiceMeshExtension {} ({}:{})\n{}",
        meta.key(),
        location.file,
        location.line,
        emit::to_yaml(&wasm_plugin)
    );
    Converted {
        key: meta.key(),
        location,
        index: info.index,
        phase_from,
        phase_to,
        priority_from: info.priority,
        priority_to,
        root_id_from,
        root_id_to,
        config_from,
        config_to,
        url,
        changes,
        wasm_plugin,
        yaml,
    }
}

/// `pluginConfig` for an SME's `config`, and what the module will see differently.
fn plugin_config(config: &ExtensionConfig) -> (Option<Value>, Change) {
    let note = |kept: bool, message: String| Change {
        kind: ChangeKind::Config,
        kept,
        message,
    };
    let text = match config {
        ExtensionConfig::Absent => {
            return (
                None,
                note(
                    true,
                    "no config: the module received the text `null` (v2.1/v2.2) or nothing (v2.0); a WasmPlugin without pluginConfig sends no configuration at all (on_configure with size 0)".into(),
                ),
            )
        }
        ExtensionConfig::Object(v) | ExtensionConfig::Invalid(v) => {
            match v.get("raw_v1alpha1_config").and_then(Value::as_str) {
                Some(raw) => raw.to_string(),
                None if v.is_object() => {
                    let empty = v.as_object().is_some_and(|m| m.is_empty());
                    return (
                        (!empty).then(|| v.clone()),
                        note(
                            true,
                            if empty {
                                "config {} : the module received `{}`; an empty pluginConfig sends no configuration at all".into()
                            } else {
                                "config object → pluginConfig as is (the module receives the same JSON)".into()
                            },
                        ),
                    );
                }
                None => return wrap(&v.to_string()),
            }
        }
        ExtensionConfig::Text(s) => s.clone(),
    };
    if text.trim().is_empty() {
        return (
            None,
            note(
                true,
                "empty config text: the WasmPlugin sends no configuration at all".into(),
            ),
        );
    }
    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&text) {
        return (
            Some(v),
            note(
                true,
                "JSON text config → pluginConfig object (the module receives the same JSON object)"
                    .into(),
            ),
        );
    }
    if let Some(v) = yaml_mapping(&text) {
        return (
            Some(v),
            note(
                true,
                "YAML text config → pluginConfig object: the module now receives it as JSON (which a YAML parser also reads)".into(),
            ),
        );
    }
    wrap(&text)
}

/// A string that is neither a JSON nor a YAML mapping: wrapped under `config`.
fn wrap(text: &str) -> (Option<Value>, Change) {
    (
        Some(json!({ "config": text })),
        Change {
            kind: ChangeKind::Config,
            kept: false,
            message: format!(
                "config text {} is not a JSON or YAML object: wrapped as pluginConfig {{\"config\": …}}; the module now receives JSON instead of the raw text and must read the `config` key",
                Value::String(clip(text, 60))
            ),
        },
    )
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// The text as a YAML mapping (one document), through the project's bounded loader.
fn yaml_mapping(text: &str) -> Option<Value> {
    let parsed = crate::load::yaml::parse(text, crate::load::yaml::Limits::default());
    if parsed.error.is_some() || parsed.docs.len() != 1 {
        return None;
    }
    let root = parsed.docs[0].root.as_ref()?;
    Some(root.to_json()).filter(Value::is_object)
}

/// What changes about where the plugin runs, and the `match` that keeps it inbound-only
/// where the target has `match` (Istio 1.16 / OSSM 2.4 on).
fn coverage_changes(
    cov: &Coverage,
    to: MeshVersion,
    matches: &mut Option<Value>,
    changes: &mut Vec<Change>,
) {
    // `match` arrived with Istio 1.16 (v2.4), the release after v2.3's 1.14.
    let has_match = to > MeshVersion::V2_3;
    let reaches_outbound = to >= MeshVersion::V2_3;
    if !cov.sidecars.is_empty() && reaches_outbound {
        if !cov.gateways.is_empty() {
            changes.push(Change {
                kind: ChangeKind::Coverage,
                kept: false,
                message: format!(
                    "the SME ran on sidecars ({}) and gateways ({}); from v2.3 a WasmPlugin also runs on every sidecar outbound chain, and `match` cannot keep both (a gateway's traffic is CLIENT, like outbound): split it into two WasmPlugins with narrower selectors",
                    list(&cov.sidecars),
                    list(&cov.gateways)
                ),
            });
        } else if has_match {
            let mut entry = Map::new();
            entry.insert("mode".into(), json!("SERVER"));
            if !cov.partial.is_empty() && !cov.patched_ports.is_empty() {
                entry.insert(
                    "ports".into(),
                    Value::Array(
                        cov.patched_ports
                            .iter()
                            .map(|p| json!({ "number": p }))
                            .collect(),
                    ),
                );
            }
            *matches = Some(Value::Array(vec![Value::Object(entry)]));
            changes.push(Change {
                kind: ChangeKind::Coverage,
                kept: true,
                message: if cov.partial.is_empty() {
                    "match mode SERVER keeps it on sidecar inbound chains only, as the SME".into()
                } else {
                    format!(
                        "match mode SERVER with ports {} keeps it on the inbound port(s) istiod patched with the SME ({} had other HTTP ports it did not run on)",
                        cov.patched_ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
                        list(&cov.partial)
                    )
                },
            });
        } else {
            changes.push(Change {
                kind: ChangeKind::Coverage,
                kept: false,
                message: "on v2.3 a WasmPlugin also runs on every sidecar outbound chain and `match` does not exist yet; set APPLY_WASM_PLUGINS_TO_INBOUND_ONLY=true on istiod (SMCP spec.runtime.components.pilot.container.env) to keep it inbound-only".into(),
            });
        }
    }
    if !cov.partial.is_empty() && !has_match {
        changes.push(Change {
            kind: ChangeKind::Coverage,
            kept: false,
            message: format!(
                "the SME ran on one inbound port of {}; a WasmPlugin runs on every inbound HTTP port (`match` ports need v2.4)",
                list(&cov.partial)
            ),
        });
    }
}

fn list(s: &BTreeSet<String>) -> String {
    const MAX: usize = 5;
    let mut v: Vec<&str> = s.iter().take(MAX).map(String::as_str).collect();
    if s.len() > MAX {
        v.push("…");
    }
    v.join(", ")
}

/// Replaces the SME documents of `text` with `replacements` (byte span of the document's
/// root node → new YAML), keeping every other byte.
pub fn splice(text: &str, mut replacements: Vec<(usize, usize, String)>) -> String {
    replacements.sort_by_key(|r| r.0);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, new) in replacements {
        // A block mapping's span runs to the next token: keep the line breaks and blank
        // lines after its last value, and end the new text where the old one ended.
        let end = start + text[start..end].trim_end().len();
        out.push_str(&text[at..start]);
        out.push_str(new.strip_suffix('\n').unwrap_or(&new));
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests;

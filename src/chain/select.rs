//! Which SMEs a proxy gets, and in which order within a phase (reference §1.6, §3.2, §3.4).
//!
//! Each SME is resolved once ([`resolve`]): effective phase and priority (spec, else the image
//! manifest, else 0 for the priority), image digest, and whether istiod would ever inject it.
//! Per workload only the root-namespace and own-namespace lists are scanned.

use super::{ExtensionDefaults, ManifestDefaults};
use crate::model::index::SelectorIndex;
use crate::model::{Extension, Labels, MeshVersion};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The six phases istiod knows; any other string is copied to status and never injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    PreAuthN,
    PostAuthN,
    PreAuthZ,
    PostAuthZ,
    PreStats,
    PostStats,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::PreAuthN,
        Phase::PostAuthN,
        Phase::PreAuthZ,
        Phase::PostAuthZ,
        Phase::PreStats,
        Phase::PostStats,
    ];

    /// Case-sensitive, like istiod's constants.
    pub fn parse(s: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::PreAuthN => "PreAuthN",
            Phase::PostAuthN => "PostAuthN",
            Phase::PreAuthZ => "PreAuthZ",
            Phase::PostAuthZ => "PostAuthZ",
            Phase::PreStats => "PreStats",
            Phase::PostStats => "PostStats",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a selected SME is never injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// `status.deployment.ready` is false.
    NotReady,
    /// No `spec.image`: the cacher has nothing to pull.
    NoImage,
    /// `spec.image` fails the cacher's parser, so it never becomes ready.
    InvalidImage,
    /// Neither the spec nor the manifest gives a phase.
    NoPhase,
    /// A phase string istiod does not know.
    UnknownPhase(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotReady => f.write_str("status.deployment.ready is false"),
            SkipReason::NoImage => f.write_str("no spec.image"),
            SkipReason::InvalidImage => f.write_str("spec.image is not a valid image reference"),
            SkipReason::NoPhase => f.write_str("no phase in the spec or the image manifest"),
            SkipReason::UnknownPhase(p) => write!(f, "unknown phase {p:?}"),
        }
    }
}

/// One SME as istiod sees it after the cacher applied its defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtInfo {
    /// Index into `Mesh::extensions`.
    pub index: usize,
    pub namespace: String,
    pub name: String,
    pub image: String,
    /// Effective phase; `None` when unknown or absent (then `skip` says why).
    pub phase: Option<Phase>,
    pub priority: i64,
    /// Image digest when the image was pulled.
    pub digest: Option<String>,
    /// Why it applies to the workloads it selects.
    pub why: String,
    pub skip: Option<SkipReason>,
}

impl ExtInfo {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Whether the cacher accepts the reference (reference §4.2); the grammar lives in
/// [`crate::image::parse_reference`].
pub fn image_ref_valid(image: &str) -> bool {
    crate::image::parse_reference(image).is_ok()
}

fn describe_selector(sel: &Labels) -> String {
    sel.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Resolves one SME (done once per SME, not per workload).
pub fn resolve(index: usize, ext: &Extension, root: &str, defaults: &ExtensionDefaults) -> ExtInfo {
    let none = ManifestDefaults::default();
    let manifest = defaults.manifests.get(&ext.meta.key()).unwrap_or(&none);
    let phase_text = ext
        .phase
        .as_deref()
        .filter(|p| !p.is_empty())
        .or(manifest.phase.as_deref().filter(|p| !p.is_empty()));
    let phase = phase_text.and_then(Phase::parse);
    let image = ext.image.clone().unwrap_or_default();
    let skip = if ext.image.is_none() {
        Some(SkipReason::NoImage)
    } else if !image_ref_valid(&image) {
        Some(SkipReason::InvalidImage)
    } else if ext.status_ready == Some(false) {
        Some(SkipReason::NotReady)
    } else if phase_text.is_none() {
        Some(SkipReason::NoPhase)
    } else if phase.is_none() {
        Some(SkipReason::UnknownPhase(
            phase_text.unwrap_or_default().to_string(),
        ))
    } else {
        None
    };
    let scope = if ext.meta.namespace == root {
        "mesh-wide (root namespace)".to_string()
    } else {
        format!("namespace {}", ext.meta.namespace)
    };
    let mut why = match &ext.selector {
        None => format!("{scope}, no workloadSelector"),
        Some(s) if s.is_empty() => format!("{scope}, empty workloadSelector"),
        Some(s) => format!("{scope}, workloadSelector {}", describe_selector(s)),
    };
    match (ext.priority, manifest.priority) {
        (Some(_), _) => {}
        (None, Some(_)) => why.push_str("; priority from the image manifest"),
        (None, None) => why.push_str("; no priority: 0"),
    }
    if ext.phase.as_deref().is_none_or(str::is_empty) && phase.is_some() {
        why.push_str("; phase from the image manifest");
    }
    ExtInfo {
        index,
        namespace: ext.meta.namespace.clone(),
        name: ext.meta.name.clone(),
        image,
        phase,
        priority: ext.priority.or(manifest.priority).unwrap_or(0),
        digest: manifest.digest.clone(),
        why,
        skip,
    }
}

/// An SME's selector with its resolution.
/// The SMEs of one namespace, in input order, indexed by selector so that a proxy only tests
/// the SMEs that can possibly select it.
type NsIndex<'m> = SelectorIndex<'m, Arc<ExtInfo>>;

/// SMEs grouped and indexed by namespace, resolved once for the whole mesh.
pub struct ExtIndex<'m> {
    by_ns: HashMap<&'m str, NsIndex<'m>>,
    root: &'m str,
}

/// What selection yields for one proxy.
#[derive(Debug, Default)]
pub struct Selected {
    /// Injectable SMEs bucketed by phase, each bucket sorted (§3.4).
    pub buckets: [Vec<Arc<ExtInfo>>; 6],
    /// Selected but never injected (not ready, unknown phase, …).
    pub skipped: Vec<Arc<ExtInfo>>,
}

impl Selected {
    pub fn is_empty(&self) -> bool {
        self.buckets.iter().all(Vec::is_empty)
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<ExtInfo>> {
        self.buckets.iter().flatten()
    }
}

impl<'m> ExtIndex<'m> {
    pub fn new(exts: &'m [Extension], root: &'m str, defaults: &ExtensionDefaults) -> Self {
        let mut by_ns: HashMap<&str, NsIndex> = HashMap::new();
        for (i, e) in exts.iter().enumerate() {
            by_ns
                .entry(e.meta.namespace.as_str())
                .or_default()
                .push(e.selector.as_ref(), Arc::new(resolve(i, e, root, defaults)));
        }
        ExtIndex { by_ns, root }
    }

    /// Every resolved SME (any namespace), for checks that are not per workload.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ExtInfo>> {
        self.by_ns.values().flat_map(|n| n.iter())
    }

    /// Root-namespace SMEs first, then the proxy's namespace (§3.2), then per-phase sort (§3.4).
    pub fn select(&self, version: MeshVersion, namespace: &str, labels: &Labels) -> Selected {
        let mut out = Selected::default();
        let mut lists = vec![self.root];
        if namespace != self.root {
            lists.push(namespace);
        }
        for ns in lists {
            let Some(index) = self.by_ns.get(ns) else {
                continue;
            };
            for ext in index.matching(labels) {
                match (&ext.skip, ext.phase) {
                    (None, Some(p)) => out.buckets[p as usize].push(Arc::clone(ext)),
                    _ => out.skipped.push(Arc::clone(ext)),
                }
            }
        }
        for bucket in &mut out.buckets {
            sort_bucket(version, bucket);
        }
        out
    }
}

/// Stable sort: higher priority first; ties by `name + image` (v2.1/v2.2) or, emulating the
/// v2.0 comparator `(img_i+img_i) < (img_j+img_i)`, by image (a total order is needed here;
/// where v2.0 is non-deterministic — equal images — the model order is kept and MX601 says so).
pub fn sort_bucket(version: MeshVersion, bucket: &mut [Arc<ExtInfo>]) {
    if version == MeshVersion::V2_0 {
        bucket.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.image.cmp(&b.image))
        });
    } else {
        bucket.sort_by(|a, b| {
            b.priority.cmp(&a.priority).then_with(|| {
                let ka = a.name.bytes().chain(a.image.bytes());
                ka.cmp(b.name.bytes().chain(b.image.bytes()))
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_case_sensitive() {
        assert_eq!(Phase::parse("PostAuthZ"), Some(Phase::PostAuthZ));
        assert_eq!(Phase::parse("postauthz"), None);
    }
}

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
    /// The mesh version's CRD does not serve this API version (`maistra.io/v1` on v2.0): the
    /// API server rejects the object (MX105).
    ApiVersionNotServed(String),
    /// `spec.priority` is not an integer the API server accepts (as written): the object is
    /// rejected.
    PriorityRejected(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotReady => f.write_str("status.deployment.ready is false"),
            SkipReason::NoImage => f.write_str("no spec.image"),
            SkipReason::InvalidImage => f.write_str("spec.image is not a valid image reference"),
            SkipReason::NoPhase => f.write_str("no phase in the spec or the image manifest"),
            SkipReason::UnknownPhase(p) => write!(f, "unknown phase {p:?}"),
            SkipReason::ApiVersionNotServed(v) => write!(
                f,
                "{v} is not served by this mesh version, so the API server rejects the object (MX105)"
            ),
            SkipReason::PriorityRejected(p) => write!(
                f,
                "spec.priority {p} is not an integer the API server accepts (type: integer, Go int), so the object is rejected"
            ),
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
pub fn resolve(
    index: usize,
    ext: &Extension,
    version: MeshVersion,
    root: &str,
    defaults: &ExtensionDefaults,
) -> ExtInfo {
    let none = ManifestDefaults::default();
    let manifest = defaults.manifests.get(&ext.meta.key()).unwrap_or(&none);
    let phase_text = ext
        .phase
        .as_deref()
        .filter(|p| !p.is_empty())
        .or(manifest.phase.as_deref().filter(|p| !p.is_empty()));
    let phase = phase_text.and_then(Phase::parse);
    let image = ext.image.clone().unwrap_or_default();
    // What the API server rejects never exists in the cluster; the rest is the cacher's and
    // istiod's view of an existing object.
    let skip = if version == MeshVersion::V2_0 && ext.meta.api_version == "maistra.io/v1" {
        Some(SkipReason::ApiVersionNotServed(
            ext.meta.api_version.clone(),
        ))
    } else if let Some(p) = &ext.priority_rejected {
        Some(SkipReason::PriorityRejected(p.clone()))
    } else if ext.image.is_none() {
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
    /// Per phase: whether the bucket's order can change from one push to the next.
    pub varies: [bool; 6],
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
    pub fn new(
        exts: &'m [Extension],
        version: MeshVersion,
        root: &'m str,
        defaults: &ExtensionDefaults,
    ) -> Self {
        let mut by_ns: HashMap<&str, NsIndex> = HashMap::new();
        for (i, e) in exts.iter().enumerate() {
            by_ns.entry(e.meta.namespace.as_str()).or_default().push(
                e.selector.as_ref(),
                Arc::new(resolve(i, e, version, root, defaults)),
            );
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
        for (bucket, varies) in out.buckets.iter_mut().zip(out.varies.iter_mut()) {
            *varies = order_varies(version, bucket);
            sort_bucket(version, bucket);
        }
        out
    }
}

/// istiod's comparator for one phase bucket (`push_context.go` `Extensions()`): higher priority
/// first; on equal priority v2.1/v2.2 compare `name + image`, v2.0 compares
/// `image_i + image_i < image_j + image_i` exactly as written (its comment says "name + image").
/// The v2.0 form is not a strict weak order when one image is a prefix of the other
/// (`…/ext:1` vs `…/ext:10`), so the result depends on the sort algorithm and the input order.
pub fn less(version: MeshVersion, a: &ExtInfo, b: &ExtInfo) -> bool {
    if a.priority != b.priority {
        return a.priority > b.priority;
    }
    // Go compares strings bytewise; compare the concatenations without building them.
    let (ka, kb) = if version == MeshVersion::V2_0 {
        (
            a.image.bytes().chain(a.image.bytes()),
            b.image.bytes().chain(a.image.bytes()),
        )
    } else {
        (
            a.name.bytes().chain(a.image.bytes()),
            b.name.bytes().chain(b.image.bytes()),
        )
    };
    ka.lt(kb)
}

/// Go's `sort.SliceStable` (insertion sort on blocks of 20, then in-place SymMerge; unchanged
/// from Go 1.14 to today), so that a comparator that is not a strict weak order gives what
/// istiod gives for the same input order.
pub fn go_stable_sort<T>(v: &mut [T], less: &dyn Fn(&T, &T) -> bool) {
    let n = v.len();
    let mut block = 20;
    let (mut a, mut b) = (0, block);
    while b <= n {
        insertion_sort(v, a, b, less);
        a = b;
        b += block;
    }
    insertion_sort(v, a, n, less);
    while block < n {
        let (mut a, mut b) = (0, 2 * block);
        while b <= n {
            sym_merge(v, a, a + block, b, less);
            a = b;
            b += 2 * block;
        }
        if a + block < n {
            sym_merge(v, a, a + block, n, less);
        }
        block *= 2;
    }
}

fn insertion_sort<T>(v: &mut [T], a: usize, b: usize, less: &dyn Fn(&T, &T) -> bool) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// SymMerge (Kim & Kutzner) of the sorted runs `v[a..m]` and `v[m..b]`, as Go does it.
fn sym_merge<T>(v: &mut [T], a: usize, m: usize, b: usize, less: &dyn Fn(&T, &T) -> bool) {
    if m - a == 1 {
        // Binary search for the first element of v[m..b] not less than v[a], then move v[a].
        let (mut i, mut j) = (m, b);
        while i < j {
            let h = (i + j) / 2;
            if less(&v[h], &v[a]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        for k in a..i - 1 {
            v.swap(k, k + 1);
        }
        return;
    }
    if b - m == 1 {
        let (mut i, mut j) = (a, m);
        while i < j {
            let h = (i + j) / 2;
            if !less(&v[m], &v[h]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = m;
        while k > i {
            v.swap(k, k - 1);
            k -= 1;
        }
        return;
    }
    let mid = (a + b) / 2;
    let n = mid + m;
    let (mut start, mut r) = if m > mid { (n - b, mid) } else { (a, m) };
    let p = n - 1;
    while start < r {
        let c = (start + r) / 2;
        if !less(&v[p - c], &v[c]) {
            start = c + 1;
        } else {
            r = c;
        }
    }
    let end = n - start;
    if start < m && m < end {
        rotate(v, start, m, end);
    }
    if a < start && start < mid {
        sym_merge(v, a, start, mid, less);
    }
    if mid < end && end < b {
        sym_merge(v, mid, end, b, less);
    }
}

/// Go's block-swap rotation of `v[a..b]` around `m` (the same swaps, so the same result for
/// elements a non-strict comparator cannot tell apart).
fn rotate<T>(v: &mut [T], a: usize, m: usize, b: usize) {
    let (mut i, mut j) = (m - a, b - m);
    while i != j {
        if i > j {
            swap_range(v, m - i, m, j);
            i -= j;
        } else {
            swap_range(v, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(v, m - i, m, i);
}

fn swap_range<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Sorts one phase bucket as istiod does, from the input order istiod builds (root-namespace
/// SMEs, then the proxy's namespace).
pub fn sort_bucket(version: MeshVersion, bucket: &mut [Arc<ExtInfo>]) {
    go_stable_sort(bucket, &|a, b| less(version, a, b));
}

/// How many input orders [`order_varies`] tries before it stops and says the order may vary.
const MAX_ORDERS: usize = 720;

/// Whether the sorted order of `input` (root-namespace SMEs first, then the proxy's namespace,
/// as istiod appends them) can change from one push to the next. istiod reads SMEs from a Go
/// map (`controller.go` `GetExtensions`), so the order inside each namespace's run is random;
/// the root run always comes first. With a strict weak order the outcome varies exactly when
/// two SMEs of one namespace compare equal; otherwise every input order is tried.
pub fn order_varies(version: MeshVersion, input: &[Arc<ExtInfo>]) -> bool {
    let lt = |a: &Arc<ExtInfo>, b: &Arc<ExtInfo>| less(version, a, b);
    let n = input.len();
    if n < 2 {
        return false;
    }
    let split = input
        .iter()
        .position(|e| e.namespace != input[0].namespace)
        .unwrap_or(n);
    let same_run = |i: usize, j: usize| (i < split) == (j < split);
    // Fast path: `name + image` (v2.1/v2.2) is a plain string order, and the v2.0 form is
    // plain image order unless an image is a proper prefix of another with equal priority.
    let prefix_pair = version == MeshVersion::V2_0
        && input.iter().any(|a| {
            input.iter().any(|b| {
                a.priority == b.priority
                    && a.image.len() < b.image.len()
                    && b.image.starts_with(&a.image)
            })
        });
    if !prefix_pair || (n <= 64 && strict_weak(input, &lt)) {
        return (0..n).any(|i| {
            (i + 1..n)
                .any(|j| same_run(i, j) && !lt(&input[i], &input[j]) && !lt(&input[j], &input[i]))
        });
    }
    let (root, local) = input.split_at(split);
    let fact = |k: usize| (1..=k).try_fold(1usize, |acc, x| acc.checked_mul(x));
    match (fact(root.len()), fact(local.len())) {
        (Some(r), Some(l)) if r.saturating_mul(l) <= MAX_ORDERS => {}
        _ => return true,
    }
    let sorted = |order: Vec<Arc<ExtInfo>>| {
        let mut v = order;
        sort_bucket(version, &mut v);
        v.iter().map(|e| e.index).collect::<Vec<_>>()
    };
    let first = sorted(input.to_vec());
    let roots = permutations(root);
    let locals = permutations(local);
    roots.iter().any(|r| {
        locals.iter().any(|l| {
            let order: Vec<Arc<ExtInfo>> = r.iter().chain(l).cloned().collect();
            sorted(order) != first
        })
    })
}

/// Every permutation of `items` (Heap's algorithm); callers bound the length.
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    fn go<T: Clone>(k: usize, v: &mut Vec<T>, out: &mut Vec<Vec<T>>) {
        if k <= 1 {
            out.push(v.clone());
            return;
        }
        go(k - 1, v, out);
        for i in 0..k - 1 {
            let j = if k % 2 == 0 { i } else { 0 };
            v.swap(j, k - 1);
            go(k - 1, v, out);
        }
    }
    let mut out = Vec::new();
    go(items.len(), &mut items.to_vec(), &mut out);
    out
}

/// Whether `lt` is a strict weak order on `items`: irreflexive, transitive, and with
/// transitive incomparability.
fn strict_weak<T>(items: &[T], lt: &dyn Fn(&T, &T) -> bool) -> bool {
    let n = items.len();
    let l: Vec<Vec<bool>> = (0..n)
        .map(|i| (0..n).map(|j| lt(&items[i], &items[j])).collect())
        .collect();
    let eq = |i: usize, j: usize| !l[i][j] && !l[j][i];
    for i in 0..n {
        if l[i][i] {
            return false;
        }
        for j in 0..n {
            for k in 0..n {
                if l[i][j] && l[j][k] && !l[i][k] {
                    return false;
                }
                if eq(i, j) && eq(j, k) && !eq(i, k) {
                    return false;
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(index: usize, ns: &str, name: &str, image: &str, priority: i64) -> Arc<ExtInfo> {
        Arc::new(ExtInfo {
            index,
            namespace: ns.into(),
            name: name.into(),
            image: image.into(),
            phase: Some(Phase::PreAuthN),
            priority,
            digest: None,
            why: String::new(),
            skip: None,
        })
    }

    fn sorted(version: MeshVersion, input: &[Arc<ExtInfo>]) -> Vec<String> {
        let mut v = input.to_vec();
        sort_bucket(version, &mut v);
        v.iter().map(|e| e.name.clone()).collect()
    }

    #[test]
    fn go_stable_sort_matches_a_stable_sort_for_a_strict_weak_order() {
        // 97 elements: insertion-sorted blocks of 20 and four rounds of SymMerge.
        let mut x: u64 = 42;
        let mut v: Vec<(u64, usize)> = (0..97)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 33) % 7, i)
            })
            .collect();
        let mut expect = v.clone();
        expect.sort_by_key(|p| p.0);
        go_stable_sort(&mut v, &|a, b| a.0 < b.0);
        assert_eq!(v, expect);
    }

    #[test]
    fn v2_0_comparator_is_not_image_order_for_prefix_tags() {
        // less(ext:1, ext:10) = "…ext:1…ext:1" < "…ext:10…ext:1": '0' < 'q', so false;
        // less(ext:10, ext:1) is true: ext:10 runs first, whatever the input order.
        let a = ext(0, "shop", "one", "quay.io/acme/ext:1", 0);
        let b = ext(1, "shop", "ten", "quay.io/acme/ext:10", 0);
        for input in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
            assert_eq!(sorted(MeshVersion::V2_0, &input), ["ten", "one"]);
            assert!(!order_varies(MeshVersion::V2_0, &input));
        }
        // v2.1 compares name + image: "one…" < "ten…".
        assert_eq!(
            sorted(MeshVersion::V2_1, &[b.clone(), a.clone()]),
            ["one", "ten"]
        );
        // Without a prefix relation it is plain image order.
        let c = ext(2, "shop", "c", "quay.io/acme/aaa:1", 0);
        let d = ext(3, "shop", "d", "quay.io/acme/bbb:1", 0);
        assert_eq!(sorted(MeshVersion::V2_0, &[d, c]), ["c", "d"]);
    }

    #[test]
    fn equal_images_vary_within_a_namespace_but_root_stays_first() {
        let root = ext(0, "istio-system", "mesh", "quay.io/acme/f:1", 0);
        let local = ext(1, "shop", "local", "quay.io/acme/f:1", 0);
        let other = ext(2, "shop", "other", "quay.io/acme/f:1", 0);
        let v = MeshVersion::V2_0;
        assert!(!order_varies(v, &[root.clone(), local.clone()]));
        assert_eq!(sorted(v, &[root.clone(), local.clone()]), ["mesh", "local"]);
        assert!(order_varies(v, &[local.clone(), other.clone()]));
        assert!(order_varies(
            v,
            &[root.clone(), local.clone(), other.clone()]
        ));
        // v2.1/v2.2 tell them apart by name.
        assert!(!order_varies(
            MeshVersion::V2_1,
            &[local.clone(), other.clone()]
        ));
        // Different priorities are never a tie.
        let high = ext(3, "shop", "high", "quay.io/acme/f:1", 5);
        assert!(!order_varies(v, &[high, local]));
    }

    #[test]
    fn name_plus_image_collisions_vary_in_one_namespace_only() {
        // "ab" + "c" == "a" + "bc".
        let x = ext(0, "shop", "ab", "c", 0);
        let y = ext(1, "shop", "a", "bc", 0);
        assert!(order_varies(MeshVersion::V2_2, &[x.clone(), y.clone()]));
        let z = ext(2, "istio-system", "a", "bc", 0);
        assert!(!order_varies(MeshVersion::V2_2, &[z, x]));
    }

    #[test]
    fn inconsistent_v2_0_comparator_is_tried_on_every_input_order() {
        // less("a", "aa0") and less("aa0", "a") are both true: the outcome follows the
        // input order, which istiod takes from a map.
        let a = ext(0, "shop", "x", "a", 0);
        let b = ext(1, "shop", "y", "aa0", 0);
        assert_eq!(
            sorted(MeshVersion::V2_0, &[a.clone(), b.clone()]),
            ["y", "x"]
        );
        assert_eq!(
            sorted(MeshVersion::V2_0, &[b.clone(), a.clone()]),
            ["x", "y"]
        );
        assert!(order_varies(MeshVersion::V2_0, &[a.clone(), b.clone()]));
        // Root first, local second: one input order only, so no variation.
        let r = ext(2, "istio-system", "r", "a", 0);
        assert!(!order_varies(MeshVersion::V2_0, &[r, b]));
    }

    #[test]
    fn phases_are_case_sensitive() {
        assert_eq!(Phase::parse("PostAuthZ"), Some(Phase::PostAuthZ));
        assert_eq!(Phase::parse("postauthz"), None);
    }
}

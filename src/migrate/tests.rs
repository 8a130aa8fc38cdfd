use super::*;
use crate::chain::{build_chains, resolve_extensions, ExtensionDefaults, WorkloadChain};
use crate::load::inputs::{add_source, Loaded};
use std::sync::Arc;

const SMCP_V21: &str = "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\nspec: {version: v2.1}\n---\napiVersion: maistra.io/v1\nkind: ServiceMeshMemberRoll\nmetadata: {name: default, namespace: istio-system}\nspec: {members: [shop]}\n";
const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {template: {metadata: {labels: {app: web}, annotations: {sidecar.istio.io/inject: 'true'}}, spec: {containers: [{name: web, image: x}]}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}\n";

fn sme(name: &str, phase: &str, priority: Option<i64>, config: &str) -> String {
    let priority = priority
        .map(|p| format!(", priority: {p}"))
        .unwrap_or_default();
    format!(
        "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {{name: {name}, namespace: shop}}\nspec: {{image: 'quay.io/x/{name}:1', phase: {phase}{priority}, workloadSelector: {{labels: {{app: web}}}}{config}}}\n"
    )
}

fn migrate(docs: &[String], to: MeshVersion) -> Migration {
    migrate_and_prove(docs, to).0
}

/// The plan, the source chains, and the documents (for [`result_chains`]).
fn migrate_and_prove(
    docs: &[String],
    to: MeshVersion,
) -> (
    Migration,
    Vec<WorkloadChain>,
    Vec<Arc<crate::load::Document>>,
) {
    let text = docs.join("---\n");
    let mut l = Loaded::default();
    add_source(&mut l, "t.yaml".into(), text.into_bytes());
    assert!(l.problems.is_empty(), "{:?}", l.problems);
    let mesh = crate::model::build::build(&l.documents, None);
    let defaults = ExtensionDefaults::default();
    let chains = build_chains(&mesh, &defaults);
    let resolved = resolve_extensions(&mesh, &defaults);
    (plan(&mesh, &resolved, &chains, to), chains, l.documents)
}

fn get<'m>(m: &'m Migration, name: &str) -> &'m Converted {
    m.plugins
        .iter()
        .find(|p| p.key == format!("shop/{name}"))
        .unwrap()
}

fn base() -> Vec<String> {
    vec![SMCP_V21.to_string(), WEB.to_string()]
}

#[test]
fn every_sme_phase_maps_to_its_wasm_plugin_phase() {
    let mut docs = base();
    for p in Phase::ALL {
        docs.push(sme(&p.as_str().to_lowercase(), p.as_str(), Some(1), ""));
    }
    let m = migrate(&docs, MeshVersion::V2_6);
    let got: Vec<(&str, &str, bool)> = m
        .plugins
        .iter()
        .map(|p| {
            let phase_kept = p
                .changes
                .iter()
                .filter(|c| c.kind == ChangeKind::Phase)
                .all(|c| c.kept);
            (
                p.phase_from.as_deref().unwrap(),
                p.phase_to.as_str(),
                phase_kept,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("PreAuthN", "AUTHN", true),
            ("PostAuthN", "AUTHZ", true),
            ("PreAuthZ", "AUTHZ", true),
            ("PostAuthZ", "STATS", true),
            ("PreStats", "STATS", true),
            ("PostStats", "UNSPECIFIED_PHASE", false),
        ]
    );
    assert!(!m.kept(), "PostStats cannot be kept");
}

#[test]
fn priorities_keep_the_order_across_merged_phases_and_ties() {
    // AUTHZ receives PostAuthN (runs first) and PreAuthZ; within PreAuthZ, priority then
    // name+image (v2.1) decide; `b` and `c` tie on priority.
    let mut docs = base();
    docs.push(sme("a", "PostAuthN", Some(1), ""));
    docs.push(sme("c", "PreAuthZ", Some(100), ""));
    docs.push(sme("b", "PreAuthZ", Some(100), ""));
    docs.push(sme("d", "PreAuthZ", None, ""));
    let m = migrate(&docs, MeshVersion::V2_6);
    let p = |n| get(&m, n).priority_to;
    assert!(p("a") > p("b") && p("b") > p("c") && p("c") > p("d"));
    let mut all: Vec<i64> = m.plugins.iter().map(|x| x.priority_to).collect();
    all.dedup();
    assert_eq!(
        all.len(),
        4,
        "distinct priorities: creation time never decides"
    );
    // Every priority is written, even for an SME without one.
    assert_eq!(
        get(&m, "d").wasm_plugin.pointer("/spec/priority"),
        Some(&json!(p("d")))
    );
}

#[test]
fn config_forms() {
    let mut docs = base();
    docs.push(sme("absent", "PreAuthZ", Some(1), ""));
    docs.push(sme("object", "PreAuthZ", Some(2), ", config: {a: 1}"));
    docs.push(sme("empty", "PreAuthZ", Some(3), ", config: {}"));
    let alpha = |name: &str, config: &str| {
        format!(
            "apiVersion: maistra.io/v1alpha1\nkind: ServiceMeshExtension\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  image: quay.io/x/{name}:1\n  phase: PreAuthZ\n  config: {config}\n"
        )
    };
    docs.push(alpha("json", "'{\"k\": [1, 2]}'"));
    docs.push(alpha("yaml", "|\n    k: v\n    n: 2"));
    docs.push(alpha("text", "plain words"));
    docs.push(alpha("number", "'42'"));
    let m = migrate(&docs, MeshVersion::V2_6);
    let cfg = |n| {
        get(&m, n)
            .wasm_plugin
            .pointer("/spec/pluginConfig")
            .cloned()
    };
    let kept = |n| {
        get(&m, n)
            .changes
            .iter()
            .filter(|c| c.kind == ChangeKind::Config)
            .all(|c| c.kept)
    };
    assert_eq!(cfg("absent"), None);
    assert_eq!(get(&m, "absent").config_from, "null");
    assert_eq!(get(&m, "absent").config_to, None);
    assert_eq!(cfg("object"), Some(json!({"a": 1})));
    assert_eq!(get(&m, "object").config_to.as_deref(), Some("{\"a\":1}"));
    assert_eq!(cfg("empty"), None);
    assert_eq!(cfg("json"), Some(json!({"k": [1, 2]})));
    assert_eq!(cfg("yaml"), Some(json!({"k": "v", "n": 2})));
    assert_eq!(cfg("text"), Some(json!({"config": "plain words"})));
    assert_eq!(cfg("number"), Some(json!({"config": "42"})));
    for n in ["absent", "object", "empty", "json", "yaml"] {
        assert!(kept(n), "{n}");
    }
    for n in ["text", "number"] {
        assert!(!kept(n), "{n}: the module now receives JSON");
    }
}

#[test]
fn root_id_selector_url_and_metadata() {
    let mut docs = base();
    docs.push("apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata:\n  name: ext\n  namespace: shop\n  labels: {team: a}\n  annotations: {note: kept}\nspec: {image: 'quay.io/x/ext:1', phase: PreAuthN, workloadSelector: {labels: {app: web}}}\n".to_string());
    let m = migrate(&docs, MeshVersion::V3_0);
    let wp = &get(&m, "ext").wasm_plugin;
    assert_eq!(wp["kind"], "WasmPlugin");
    assert_eq!(wp["apiVersion"], "extensions.istio.io/v1alpha1");
    assert_eq!(wp.pointer("/metadata/namespace"), Some(&json!("shop")));
    assert_eq!(wp.pointer("/metadata/labels/team"), Some(&json!("a")));
    assert_eq!(
        wp.pointer("/metadata/annotations/note"),
        Some(&json!("kept"))
    );
    assert_eq!(
        wp.pointer(&format!(
            "/metadata/annotations/{}",
            SOURCE_ANNOTATION.replace('/', "~1")
        )),
        Some(&json!("ServiceMeshExtension shop/ext"))
    );
    assert_eq!(wp.pointer("/spec/pluginName"), Some(&json!("ext_root")));
    assert_eq!(
        wp.pointer("/spec/selector/matchLabels"),
        Some(&json!({"app": "web"}))
    );
    assert_eq!(
        wp.pointer("/spec/url"),
        Some(&json!("oci://quay.io/x/ext:1"))
    );
    // The YAML reads back as the same object.
    let mut l = Loaded::default();
    add_source(
        &mut l,
        "o.yaml".into(),
        get(&m, "ext").yaml.clone().into_bytes(),
    );
    assert_eq!(&l.documents[0].json(), wp);
}

#[test]
fn coverage_per_target_version() {
    let mut docs = base();
    docs.push(sme("ext", "PreAuthZ", Some(1), ""));
    let coverage = |to| {
        let m = migrate(&docs, to);
        let p = get(&m, "ext").clone();
        let kept = p
            .changes
            .iter()
            .filter(|c| c.kind == ChangeKind::Coverage)
            .all(|c| c.kept);
        (p.wasm_plugin.pointer("/spec/match").cloned(), kept)
    };
    // v2.2 injects WasmPlugins where SMEs ran (inbound, gateways): nothing to say.
    assert_eq!(coverage(MeshVersion::V2_2), (None, true));
    // v2.3 adds outbound chains and has no `match`.
    assert_eq!(coverage(MeshVersion::V2_3), (None, false));
    // v2.4+: `match` keeps it inbound-only.
    assert_eq!(
        coverage(MeshVersion::V2_6),
        (Some(json!([{"mode": "SERVER"}])), true)
    );
}

#[test]
fn sidecars_and_gateways_together_cannot_be_kept() {
    let mut docs = base();
    docs.push("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istio-ingressgateway, namespace: shop}\nspec: {template: {metadata: {labels: {istio: ingressgateway, app: web}}, spec: {containers: [{name: istio-proxy, image: x}]}}}\n---\napiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: gw, namespace: shop}\nspec: {selector: {istio: ingressgateway}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]}\n".to_string());
    docs.push(sme("ext", "PreAuthZ", Some(1), ""));
    let m = migrate(&docs, MeshVersion::V2_6);
    let p = get(&m, "ext");
    let gw_and_sidecar = p
        .changes
        .iter()
        .any(|c| c.kind == ChangeKind::Coverage && !c.kept && c.message.contains("gateways"));
    assert!(gw_and_sidecar, "{:#?}", p.changes);
    assert_eq!(p.wasm_plugin.pointer("/spec/match"), None);
}

#[test]
fn splice_keeps_every_other_byte() {
    let text = "# head\na: 1  # c\n---\nb: 2\n# tail\n";
    let start = text.find("b:").unwrap();
    let out = splice(text, vec![(start, start + 4, "x: 3\ny: 4\n".into())]);
    assert_eq!(out, "# head\na: 1  # c\n---\nx: 3\ny: 4\n# tail\n");
}

#[test]
fn the_proof_compares_the_chains_of_both_meshes() {
    let mut docs = base();
    docs.push(sme("a", "PreAuthZ", Some(100), ""));
    docs.push(sme("b", "PreAuthZ", Some(5), ""));
    docs.push(sme("c", "PreStats", None, ""));
    // v2.6: `match` keeps them inbound, in the same order.
    let (m, before, documents) = migrate_and_prove(&docs, MeshVersion::V2_6);
    let after = result_chains(&documents, &m);
    assert!(
        proof::compare(&before, &after).is_empty(),
        "{:#?}",
        proof::compare(&before, &after)
    );
    let inbound = after
        .iter()
        .find(|c| c.key() == "shop/web" && c.listener == crate::chain::Listener::Inbound)
        .unwrap();
    let order: Vec<proof::Item> = proof::project(inbound);
    let mut want: Vec<proof::Item> = ["shop/a", "shop/b", "shop/c"]
        .map(|k| proof::Item::Extension(k.into()))
        .into();
    want.push(proof::Item::Landmark("stats"));
    assert_eq!(order, want);
    // v2.3: no `match`, so the plugins reach the outbound chain: a difference.
    let (m, before, documents) = migrate_and_prove(&docs, MeshVersion::V2_3);
    let d = proof::compare(&before, &result_chains(&documents, &m));
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        (d[0].workload.as_str(), d[0].listener),
        ("shop/web", "outbound")
    );
    // A wrong priority is caught: swap the two AUTHZ plugins.
    let (mut m, before, documents) = migrate_and_prove(&docs, MeshVersion::V2_6);
    let (pa, pb) = (get(&m, "a").priority_to, get(&m, "b").priority_to);
    for p in m.plugins.iter_mut() {
        let to = match p.key.as_str() {
            "shop/a" => pb,
            "shop/b" => pa,
            _ => continue,
        };
        p.wasm_plugin["spec"]["priority"] = json!(to);
        p.yaml = emit::to_yaml(&p.wasm_plugin);
    }
    let d = proof::compare(&before, &result_chains(&documents, &m));
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].listener, "inbound");
}

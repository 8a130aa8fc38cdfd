//! The JSON Schemas under `rules/schemas/` compile, are self-contained, and accept and reject
//! what the CRDs (and the cacher, for `manifest.json`) accept and reject. An unknown field must
//! fail with `additionalProperties` (the validator reports it as MX104, "would be pruned");
//! every other violation with another keyword (MX103).

use meshext_lint::data;
use serde_json::{json, Value};

/// Every schema file this test expects; a new file must be added here (and get cases below).
const EXPECTED: &[&str] = &[
    "istiooperator.v1alpha1.json",
    "manifest.json",
    "sail.istio.v1.json",
    "sail.istiorevision.v1.json",
    "servicemeshcontrolplane.v2.json",
    "servicemeshextension.v1.json",
    "servicemeshextension.v1alpha1-v2.0.json",
    "servicemeshextension.v1alpha1.json",
    "servicemeshmember.v1.json",
    "servicemeshmemberroll.v1.json",
    "wasmplugin.v1alpha1.json",
];

fn schemas() -> Vec<(&'static str, Value)> {
    data::files_under("schemas")
        .filter(|(p, _)| p.ends_with(".json"))
        .map(|(p, text)| {
            let v = serde_json::from_str(text).unwrap_or_else(|e| panic!("{p}: invalid JSON: {e}"));
            (p.trim_start_matches("schemas/"), v)
        })
        .collect()
}

fn schema(name: &str) -> Value {
    let path = format!("schemas/{name}");
    let text = data::file(&path).unwrap_or_else(|| panic!("{path} is not embedded"));
    serde_json::from_str(text).unwrap()
}

/// What validating one instance gives: nothing, an unknown field (MX104) or another error (MX103).
#[derive(Debug, PartialEq)]
enum Outcome {
    Valid,
    /// Unknown field(s) at this instance path (JSON pointer) — the API server would prune them.
    Pruned(String, Vec<String>),
    /// Any other violation: (instance path, keyword).
    Invalid(String, String),
}
use Outcome::*;

fn outcomes(schema_name: &str, instance: &Value) -> Vec<Outcome> {
    let validator = jsonschema::validator_for(&schema(schema_name)).expect("schema compiles");
    let mut out: Vec<Outcome> = validator
        .iter_errors(instance)
        .map(|e| {
            let path = e.instance_path().to_string();
            match e.kind() {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    Pruned(path, unexpected.clone())
                }
                kind => Invalid(path, kind.keyword().to_string()),
            }
        })
        .collect();
    if out.is_empty() {
        out.push(Valid);
    }
    out
}

fn check(schema_name: &str, instance: Value, expected: &[Outcome]) {
    let got = outcomes(schema_name, &instance);
    assert_eq!(got, expected, "{schema_name}: {instance}");
}

fn invalid(path: &str, keyword: &str) -> Outcome {
    Invalid(path.into(), keyword.into())
}

fn pruned(path: &str, fields: &[&str]) -> Outcome {
    Pruned(path.into(), fields.iter().map(|s| s.to_string()).collect())
}

/// Collects every `$ref` value and every `properties` entry without a description.
fn walk(v: &Value, at: &str, refs: &mut Vec<String>, undocumented: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    refs.push(child.as_str().unwrap_or_default().to_string());
                }
                if k == "properties" {
                    for (name, prop) in child.as_object().into_iter().flatten() {
                        let documented =
                            prop.get("description").is_some() || prop.get("$ref").is_some();
                        if !documented {
                            undocumented.push(format!("{at}/properties/{name}"));
                        }
                    }
                }
                walk(child, &format!("{at}/{k}"), refs, undocumented);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{at}/{i}"), refs, undocumented);
            }
        }
        _ => {}
    }
}

#[test]
fn every_schema_is_embedded_compiles_and_is_self_contained() {
    let all = schemas();
    let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, EXPECTED, "schema files under rules/schemas/");
    for (name, s) in &all {
        let draft = s["$schema"].as_str().unwrap_or_default();
        assert!(
            draft == "https://json-schema.org/draft/2020-12/schema"
                || draft == "http://json-schema.org/draft-07/schema#",
            "{name}: $schema must name draft 2020-12 or draft-07, got {draft:?}"
        );
        assert!(
            s["x-meshext-source"]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "{name}: x-meshext-source"
        );
        jsonschema::meta::validate(s).unwrap_or_else(|e| panic!("{name}: not a valid schema: {e}"));
        jsonschema::validator_for(s).unwrap_or_else(|e| panic!("{name}: does not compile: {e}"));
        let (mut refs, mut undocumented) = (Vec::new(), Vec::new());
        walk(s, "", &mut refs, &mut undocumented);
        for r in refs {
            assert!(
                r.starts_with("#/$defs/"),
                "{name}: only local $defs references, got {r:?}"
            );
        }
        assert!(
            undocumented.is_empty(),
            "{name}: fields without a description: {undocumented:?}"
        );
    }
}

#[test]
fn kubernetes_resources_close_the_top_level() {
    for (name, s) in schemas() {
        if name == "manifest.json" {
            // Not a Kubernetes object: the cacher ignores unknown keys.
            assert_eq!(s["additionalProperties"], json!(true), "{name}");
            continue;
        }
        assert_eq!(s["additionalProperties"], json!(false), "{name}");
        let keys: Vec<&String> = s["properties"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["apiVersion", "kind", "metadata", "spec", "status"],
            "{name}"
        );
        // Loose metadata: any field, but labels must be string maps.
        let meta = json!({"apiVersion": "x", "kind": "y",
            "metadata": {"name": "a", "uid": "u", "generation": 3, "labels": {"app": "1"}}});
        let got = outcomes(name, &meta);
        assert!(
            !got.iter()
                .any(|o| matches!(o, Invalid(p, _) | Pruned(p, _) if p.starts_with("/metadata"))),
            "{name}: {got:?}"
        );
        let bad_meta = json!({"metadata": {"labels": {"version": 2}}});
        assert!(
            outcomes(name, &bad_meta).contains(&invalid("/metadata/labels/version", "type")),
            "{name}"
        );
        let unknown_top = json!({"spce": {}});
        assert!(
            outcomes(name, &unknown_top).contains(&pruned("", &["spce"])),
            "{name}"
        );
    }
}

fn sme(api: &str, spec: Value) -> Value {
    json!({"apiVersion": api, "kind": "ServiceMeshExtension",
           "metadata": {"name": "ext", "namespace": "bookinfo"}, "spec": spec})
}

const SME_21: &str = "servicemeshextension.v1alpha1.json";
const SME_20: &str = "servicemeshextension.v1alpha1-v2.0.json";
const SME_V1: &str = "servicemeshextension.v1.json";

#[test]
fn sme_v1alpha1_21() {
    let a = "maistra.io/v1alpha1";
    let full = json!({"image": "quay.io/acme/ext:1.0", "imagePullPolicy": "Always",
        "imagePullSecrets": [{"name": "pull"}], "workloadSelector": {"labels": {"app": "productpage"}},
        "phase": "PostAuthZ", "priority": 100, "config": "{\"header\": \"x\"}"});
    check(SME_21, sme(a, full), &[Valid]);
    // Any phase string passes the schema (MX301 checks the value); nulls are dropped by the server.
    check(
        SME_21,
        sme(
            a,
            json!({"phase": "Bogus", "priority": null, "config": null}),
        ),
        &[Valid],
    );
    check(
        SME_21,
        sme(a, json!({"image": "x/y:1"})),
        &[invalid("/spec", "required")],
    );
    check(
        SME_21,
        sme(a, json!({"phase": "PreAuthZ", "config": {"a": 1}})),
        &[invalid("/spec/config", "type")],
    );
    check(
        SME_21,
        sme(a, json!({"phase": "PreAuthZ", "priority": "10"})),
        &[invalid("/spec/priority", "type")],
    );
    check(
        SME_21,
        sme(a, json!({"phase": "PreAuthZ", "priority": 1.5})),
        &[invalid("/spec/priority", "type")],
    );
    check(
        SME_21,
        sme(a, json!({"phase": 3})),
        &[invalid("/spec/phase", "type")],
    );
    check(
        SME_21,
        sme(a, json!({"phase": "PreAuthZ", "workloadSelector": {}})),
        &[invalid("/spec/workloadSelector", "required")],
    );
    check(
        SME_21,
        sme(
            a,
            json!({"phase": "PreAuthZ", "workloadSelector": {"labels": {"app": true}}}),
        ),
        &[invalid("/spec/workloadSelector/labels/app", "type")],
    );
    check(
        SME_21,
        sme(
            a,
            json!({"phase": "PreAuthZ", "workloadSelector": {"matchLabels": {"app": "x"}, "labels": {}}}),
        ),
        &[pruned("/spec/workloadSelector", &["matchLabels"])],
    );
    check(
        SME_21,
        sme(a, json!({"phase": "PreAuthZ", "pluginConfig": {}})),
        &[pruned("/spec", &["pluginConfig"])],
    );
    check(
        SME_21,
        sme(
            a,
            json!({"phase": "PreAuthZ", "imagePullSecrets": [{"name": "s", "namespace": "x"}]}),
        ),
        &[pruned("/spec/imagePullSecrets/0", &["namespace"])],
    );
    let status = json!({"phase": "PreAuthZ", "priority": 0, "observedGeneration": 2,
        "deployment": {"ready": true, "containerSha256": "c", "sha256": "s", "url": "http://c/1", "message": ""}});
    let mut with_status = sme(a, json!({"phase": "PreAuthZ"}));
    with_status["status"] = status;
    check(SME_21, with_status.clone(), &[Valid]);
    with_status["status"]["deployment"]["ready"] = json!("true");
    check(
        SME_21,
        with_status,
        &[invalid("/status/deployment/ready", "type")],
    );
}

#[test]
fn sme_v1alpha1_20() {
    let a = "maistra.io/v1alpha1";
    // phase is optional in the 2.0 CRD (the manifest's phase is used).
    check(
        SME_20,
        sme(a, json!({"image": "quay.io/acme/ext:1.0", "config": "x"})),
        &[Valid],
    );
    check(
        SME_20,
        sme(
            a,
            json!({"image": "quay.io/acme/ext:1.0", "workloadSelector": {"labels": {"app": "a"}},
                      "phase": "PreStats", "priority": 5}),
        ),
        &[Valid],
    );
    // The pull fields do not exist before 2.1: the 2.0 API server prunes them.
    check(
        SME_20,
        sme(
            a,
            json!({"phase": "PreStats", "imagePullPolicy": "Always", "imagePullSecrets": []}),
        ),
        &[pruned("/spec", &["imagePullPolicy", "imagePullSecrets"])],
    );
    let mut s = sme(a, json!({"phase": "PreStats"}));
    s["status"] = json!({"deployment": {"ready": true, "message": "boom"}});
    check(SME_20, s, &[pruned("/status/deployment", &["message"])]);
    check(
        SME_20,
        sme(a, json!({"config": {"k": "v"}})),
        &[invalid("/spec/config", "type")],
    );
    check(
        SME_20,
        sme(a, json!({"workloadSelector": {"labels": []}})),
        &[invalid("/spec/workloadSelector/labels", "type")],
    );
}

#[test]
fn sme_v1() {
    let a = "maistra.io/v1";
    let full = json!({"image": "quay.io/acme/ext@sha256:0000", "imagePullPolicy": "IfNotPresent",
        "workloadSelector": {"labels": {"app": "reviews"}}, "phase": "PreAuthN", "priority": -3,
        "config": {"nested": {"any": ["thing", 1, null]}, "raw_v1alpha1_config": "x"}});
    check(SME_V1, sme(a, full), &[Valid]);
    check(
        SME_V1,
        sme(a, json!({"phase": "PreAuthN", "config": "{\"a\":1}"})),
        &[invalid("/spec/config", "type")],
    );
    check(
        SME_V1,
        sme(a, json!({"priority": 1})),
        &[invalid("/spec", "required")],
    );
    check(
        SME_V1,
        sme(
            a,
            json!({"phase": "PreAuthN", "workloadSelector": {"labels": null}}),
        ),
        &[invalid("/spec/workloadSelector/labels", "type")],
    );
    check(
        SME_V1,
        sme(a, json!({"phase": "PreAuthN", "url": "oci://x"})),
        &[pruned("/spec", &["url"])],
    );
}

fn smcp(spec: Value) -> Value {
    json!({"apiVersion": "maistra.io/v2", "kind": "ServiceMeshControlPlane",
           "metadata": {"name": "basic", "namespace": "istio-system"}, "spec": spec})
}
const SMCP: &str = "servicemeshcontrolplane.v2.json";

#[test]
fn smcp_v2() {
    let good = json!({
        "version": "v2.2", "profiles": ["default"], "mode": "ClusterWide",
        "cluster": {"name": "c", "network": "n", "multiCluster": {"enabled": false, "meshNetworks": {}}},
        "meshConfig": {"discoverySelectors": [{"matchLabels": {"a": "b"}}], "extensionProviders": [{"name": "x"}]},
        "general": {"logging": {"logAsJSON": true}, "validationMessages": true},
        "policy": {"type": "Istiod"},
        "proxy": {"adminPort": 15000, "concurrency": 2, "injection": {"autoInject": true},
                  "networking": {"clusterDomain": "cluster.local",
                                 "protocol": {"autoDetect": {"inbound": false, "outbound": false, "timeout": "1s"}},
                                 "trafficControl": {"inbound": {}}}},
        "security": {"dataPlane": {"mtls": true}, "manageNetworkPolicy": false, "jwksResolverCA": ""},
        "telemetry": {"type": "Istiod"},
        "tracing": {"type": "Jaeger", "sampling": 10000},
        "gateways": {"enabled": true, "ingress": {"routeConfig": {"enabled": true}}, "openshiftRoute": {"enabled": false}},
        "runtime": {"components": {"wasmExtensions.cacher": {"container": {"imageName": "x"}}}, "defaults": {}},
        "addons": {"kiali": {"enabled": true}, "3scale": {"enabled": false}},
        "techPreview": {"wasmExtensions": {"enabled": true}, "anything": [1, 2]}
    });
    check(SMCP, smcp(good), &[Valid]);
    let mut status = smcp(json!({"version": "v2.1"}));
    status["status"] = json!({"readiness": {"components": {}}, "whatever": 1});
    check(SMCP, status, &[Valid]);
    check(
        SMCP,
        json!({"apiVersion": "maistra.io/v2", "kind": "ServiceMeshControlPlane"}),
        &[invalid("", "required")],
    );
    check(
        SMCP,
        smcp(json!({"telemetry": {"type": "Mixr"}})),
        &[invalid("/spec/telemetry/type", "enum")],
    );
    check(
        SMCP,
        smcp(json!({"version": 2.2})),
        &[invalid("/spec/version", "type")],
    );
    check(
        SMCP,
        smcp(json!({"mode": "Cluster"})),
        &[invalid("/spec/mode", "enum")],
    );
    check(
        SMCP,
        smcp(json!({"techPreview": "wasm"})),
        &[invalid("/spec/techPreview", "type")],
    );
    check(
        SMCP,
        smcp(json!({"proxy": {"networking": {"protocol": {"autoDetect": {"inbound": "false"}}}}})),
        &[invalid(
            "/spec/proxy/networking/protocol/autoDetect/inbound",
            "type",
        )],
    );
    check(
        SMCP,
        smcp(json!({"proxy": {"networking": {"protocol": {"autodetect": {}}}}})),
        &[pruned("/spec/proxy/networking/protocol", &["autodetect"])],
    );
    check(
        SMCP,
        smcp(json!({"wasmExtensions": {"enabled": true}})),
        &[pruned("/spec", &["wasmExtensions"])],
    );
    check(
        SMCP,
        smcp(json!({"telemetry": {"type": "Istiod", "enabled": true}})),
        &[pruned("/spec/telemetry", &["enabled"])],
    );
    check(
        SMCP,
        smcp(json!({"runtime": {"components": {"pilot": "x"}}})),
        &[invalid("/spec/runtime/components/pilot", "type")],
    );
}

#[test]
fn smmr_and_smm() {
    let smmr = |spec: Value| {
        json!({"apiVersion": "maistra.io/v1", "kind": "ServiceMeshMemberRoll",
               "metadata": {"name": "default", "namespace": "istio-system"}, "spec": spec})
    };
    const SMMR: &str = "servicemeshmemberroll.v1.json";
    check(
        SMMR,
        smmr(json!({"members": ["bookinfo", "shop"]})),
        &[Valid],
    );
    check(SMMR, smmr(json!({"members": null})), &[Valid]);
    check(
        SMMR,
        smmr(json!({"memberSelectors": [{"matchLabels": {"mesh": "yes"},
            "matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}]})),
        &[Valid],
    );
    check(
        SMMR,
        smmr(json!({"members": "bookinfo"})),
        &[invalid("/spec/members", "type")],
    );
    check(
        SMMR,
        smmr(json!({"members": [1]})),
        &[invalid("/spec/members/0", "type")],
    );
    check(
        SMMR,
        smmr(json!({"memberSelectors": [{"matchExpressions": [{"key": "team"}]}]})),
        &[invalid(
            "/spec/memberSelectors/0/matchExpressions/0",
            "required",
        )],
    );
    check(
        SMMR,
        smmr(json!({"member": ["bookinfo"]})),
        &[pruned("/spec", &["member"])],
    );
    let mut with_status = smmr(json!({}));
    with_status["status"] = json!({"configuredMembers": ["bookinfo"], "members": ["bookinfo"],
        "conditions": [{"type": "Ready", "status": "True"}], "memberStatuses": [{"namespace": "bookinfo", "conditions": []}]});
    check(SMMR, with_status, &[Valid]);
    check(
        SMMR,
        json!({"kind": "ServiceMeshMemberRoll"}),
        &[invalid("", "required")],
    );

    let smm = |spec: Value| {
        json!({"apiVersion": "maistra.io/v1", "kind": "ServiceMeshMember",
               "metadata": {"name": "default", "namespace": "bookinfo"}, "spec": spec})
    };
    const SMM: &str = "servicemeshmember.v1.json";
    check(
        SMM,
        smm(json!({"controlPlaneRef": {"name": "basic", "namespace": "istio-system"}})),
        &[Valid],
    );
    check(SMM, smm(json!({})), &[invalid("/spec", "required")]);
    check(
        SMM,
        smm(json!({"controlPlaneRef": {"name": "basic"}})),
        &[invalid("/spec/controlPlaneRef", "required")],
    );
    check(
        SMM,
        smm(
            json!({"controlPlaneRef": {"name": "basic", "namespace": "istio-system", "kind": "SMCP"}}),
        ),
        &[pruned("/spec/controlPlaneRef", &["kind"])],
    );
}

fn wasm(spec: Value) -> Value {
    json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin",
           "metadata": {"name": "p", "namespace": "bookinfo"}, "spec": spec})
}
const WP: &str = "wasmplugin.v1alpha1.json";

#[test]
fn wasmplugin() {
    let hex = "ab".repeat(32);
    let full = json!({
        "selector": {"matchLabels": {"app": "productpage"}},
        "url": "oci://quay.io/acme/plugin:1.0", "sha256": hex, "imagePullPolicy": "Always",
        "imagePullSecret": "pull", "pluginConfig": {"any": {"thing": [1]}}, "pluginName": "root",
        "phase": "AUTHZ", "priority": 10,
        "vmConfig": {"env": [{"name": "A", "value": "1"}, {"name": "POD_NAME", "valueFrom": "HOST"}]},
        "match": [{"mode": "SERVER", "ports": [{"number": 8080}]}],
        "failStrategy": "FAIL_OPEN", "type": "HTTP"
    });
    check(WP, wasm(full), &[Valid]);
    check(
        WP,
        wasm(
            json!({"url": "file:///p.wasm", "sha256": "", "priority": null,
                    "targetRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}}),
        ),
        &[Valid],
    );
    check(
        WP,
        wasm(json!({"phase": "AUTHN"})),
        &[invalid("/spec", "required")],
    );
    check(
        WP,
        wasm(json!({"url": ""})),
        &[invalid("/spec/url", "minLength")],
    );
    check(
        WP,
        wasm(json!({"url": "x/y:1", "phase": "PreAuthZ"})),
        &[invalid("/spec/phase", "enum")],
    );
    // The sha256 format is MX313's (the webhook's message, per release), not the schema's.
    check(WP, wasm(json!({"url": "x/y:1", "sha256": "ABC"})), &[Valid]);
    check(
        WP,
        wasm(json!({"url": "x/y:1", "targetRefs": [{"kind": "Gateway", "name": "gw", "port": 1}]})),
        &[pruned("/spec/targetRefs/0", &["port"])],
    );
    check(
        WP,
        wasm(json!({"url": "x/y:1", "pluginConfig": "{}"})),
        &[invalid("/spec/pluginConfig", "type")],
    );
    check(
        WP,
        wasm(json!({"url": "x/y:1", "match": [{"ports": [{"number": 0}]}]})),
        &[invalid("/spec/match/0/ports/0/number", "minimum")],
    );
    check(
        WP,
        wasm(json!({"url": "x/y:1", "vmConfig": {"env": [{"value": "1"}]}})),
        &[invalid("/spec/vmConfig/env/0", "required")],
    );
    // FAIL_RELOAD exists from 1.27 (MX310 judges it per release); other values never do.
    check(
        WP,
        wasm(json!({"url": "x/y:1", "failStrategy": "FAIL_RELOAD"})),
        &[Valid],
    );
    check(
        WP,
        wasm(json!({"url": "x/y:1", "failStrategy": "FAIL_SOMETIMES"})),
        &[invalid("/spec/failStrategy", "enum")],
    );
    // SME field names on a WasmPlugin are pruned by the server.
    check(
        WP,
        wasm(json!({"url": "x/y:1", "config": {}, "workloadSelector": {"labels": {}}})),
        &[pruned("/spec", &["config", "workloadSelector"])],
    );
    check(
        WP,
        wasm(json!({"url": "x/y:1", "selector": {"labels": {}}})),
        &[pruned("/spec/selector", &["labels"])],
    );
    let mut s = wasm(json!({"url": "x/y:1"}));
    s["status"] = json!({"anything": true});
    check(WP, s, &[Valid]);
}

const MF: &str = "manifest.json";

#[test]
fn manifest() {
    // The schema is what MX403 checks (the image reader validates manifest.yaml with it).
    let good = json!({"schemaVersion": 1, "name": "header-append", "description": "Appends headers",
        "version": 1.0, "phase": "PostAuthZ", "priority": 100, "module": "extension.wasm"});
    check(MF, good, &[Valid]);
    // String "1" and unknown keys (ignored by the cacher); informational fields take anything.
    check(
        MF,
        json!({"schemaVersion": "1", "name": {"a": 1}, "phase": "PreStats", "priority": 0, "module": "m.wasm", "extra": {"k": 1}}),
        &[Valid],
    );
    check(
        MF,
        json!({"schemaVersion": "2", "phase": "X", "priority": 0, "module": "m.wasm"}),
        &[invalid("/schemaVersion", "enum"), invalid("/phase", "enum")],
    );
    check(
        MF,
        json!({"schemaVersion": 1, "name": "x", "priority": 1}),
        &[invalid("", "required"), invalid("", "required")],
    );
    check(
        MF,
        json!({"schemaVersion": 1, "phase": "PreAuthN", "priority": "high", "module": "m.wasm"}),
        &[invalid("/priority", "type")],
    );
    check(
        MF,
        json!({"schemaVersion": 1, "phase": "PreAuthN", "priority": 1, "module": " \t"}),
        &[invalid("/module", "pattern")],
    );
    check(
        MF,
        json!({"schemaVersion": 1, "phase": ["PreAuthN"], "priority": 1, "module": "m"}),
        &[invalid("/phase", "enum")],
    );
    check(
        MF,
        json!({"schemaVersion": [1], "phase": "PreAuthN", "priority": 1, "module": "m"}),
        &[invalid("/schemaVersion", "enum")],
    );
}

#[test]
fn one_required_error_per_missing_field() {
    // jsonschema reports each missing property separately (the validator can name each one).
    let got = outcomes(MF, &json!({}));
    assert_eq!(
        got,
        (0..4).map(|_| invalid("", "required")).collect::<Vec<_>>()
    );
}

fn sail(kind: &str, spec: Value) -> Value {
    json!({"apiVersion": "sailoperator.io/v1", "kind": kind, "metadata": {"name": "default"}, "spec": spec})
}

/// The Sail operator's `Istio` (sail-operator api/v1/istio_types.go): spec and updateStrategy
/// are closed, values open except the meshConfig fields the model reads.
#[test]
fn sail_istio_and_revision() {
    const IS: &str = "sail.istio.v1.json";
    const REV: &str = "sail.istiorevision.v1.json";
    let full = json!({
        "version": "v1.24.3", "namespace": "istio-system", "profile": "openshift",
        "updateStrategy": {"type": "RevisionBased", "inactiveRevisionDeletionGracePeriodSeconds": 30, "updateWorkloads": true},
        "values": {"pilot": {"env": {"X": "1"}}, "meshConfig": {
            "rootNamespace": "istio-config", "accessLogFile": "/dev/stdout",
            "discoverySelectors": [{"matchLabels": {"mesh": "on"}}, {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}],
            "extensionProviders": [{"name": "authz", "envoyExtAuthzHttp": {"service": "a", "port": 80}}]}}
    });
    check(IS, sail("Istio", full.clone()), &[Valid]);
    check(IS, sail("Istio", json!({})), &[Valid]);
    check(
        IS,
        sail("Istio", json!({"verison": "v1.24.3"})),
        &[pruned("/spec", &["verison"])],
    );
    check(
        IS,
        sail("Istio", json!({"updateStrategy": {"type": "Canary"}})),
        &[invalid("/spec/updateStrategy/type", "enum")],
    );
    check(
        IS,
        sail("Istio", json!({"profile": "minimal"})),
        &[invalid("/spec/profile", "enum")],
    );
    check(
        IS,
        sail(
            "Istio",
            json!({"values": {"meshConfig": {"rootNamespace": 3}}}),
        ),
        &[invalid("/spec/values/meshConfig/rootNamespace", "type")],
    );
    check(
        IS,
        sail(
            "Istio",
            json!({"values": {"meshConfig": {"extensionProviders": [{"envoyExtAuthzHttp": {}}]}}}),
        ),
        &[invalid(
            "/spec/values/meshConfig/extensionProviders/0",
            "required",
        )],
    );
    check(
        IS,
        sail(
            "Istio",
            json!({"values": {"meshConfig": {"discoverySelectors": [{"matchExpressions": [{"key": "a", "operator": "Has"}]}]}}}),
        ),
        &[invalid(
            "/spec/values/meshConfig/discoverySelectors/0/matchExpressions/0/operator",
            "enum",
        )],
    );
    check(
        REV,
        sail(
            "IstioRevision",
            json!({"version": "v1.24.3", "namespace": "istio-system"}),
        ),
        &[Valid],
    );
    check(
        REV,
        sail("IstioRevision", json!({"version": "v1.24.3"})),
        &[invalid("/spec", "required")],
    );
}

/// An IstioOperator is open (its CRD preserves unknown fields) except what the model reads.
#[test]
fn istio_operator() {
    const IOP: &str = "istiooperator.v1alpha1.json";
    let iop = |spec: Value| json!({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "metadata": {"name": "cp", "namespace": "istio-system"}, "spec": spec});
    check(
        IOP,
        iop(
            json!({"tag": "1.26.2", "revision": "canary", "components": {"pilot": {"enabled": true}},
                   "meshConfig": {"rootNamespace": "istio-system", "defaultConfig": {}}}),
        ),
        &[Valid],
    );
    check(
        IOP,
        iop(json!({"meshConfig": {"discoverySelectors": {"matchLabels": {}}}})),
        &[invalid("/spec/meshConfig/discoverySelectors", "type")],
    );
}

//! Where the chain follows istiod's code rather than its documentation (issue 11, points 1, 2,
//! 3, 7 and 8). Each case is derived from the maistra/istio source named in its comment.

mod chain_support;
mod common;
use chain_support::*;
use common::*;
use meshext_lint::chain::{ExtensionDefaults, Gate, Phase, SkipReason};
use meshext_lint::model::*;
use meshext_lint::rules::chains::check;
use serde_json::Value;

fn v(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

fn ext_names(m: &Mesh) -> Vec<String> {
    chains(m)[0].extensions().map(|e| e.name.clone()).collect()
}

fn messages(m: &Mesh, rule: &str) -> Vec<String> {
    check(m, &chains(m), &ExtensionDefaults::default())
        .into_iter()
        .filter(|d| d.rule.as_str() == rule)
        .map(|d| d.message)
        .collect()
}

// Point 1 — `push_context.go` `Extensions()` (maistra-2.0): `less(i, j)` is
// `Image_i + Image_i < Image_j + Image_i`.

#[test]
fn v2_0_prefix_images_are_not_in_image_order() {
    let mut m = mesh(MeshVersion::V2_0);
    add_app(&mut m, "shop", "web");
    let mut one = sme("shop", "one", "PostAuthZ", Some(10));
    one.image = Some("quay.io/acme/ext:1".into());
    let mut ten = sme("shop", "ten", "PostAuthZ", Some(10));
    ten.image = Some("quay.io/acme/ext:10".into());
    for exts in [
        vec![one.clone(), ten.clone()],
        vec![ten.clone(), one.clone()],
    ] {
        m.extensions = exts;
        assert_eq!(ext_names(&m), v(&["ten", "one"]));
        assert!(chains(&m)[0].order_varies.is_empty());
        let msg = messages(&m, "MX601");
        assert!(
            msg[0].contains("`shop/ten` before `shop/one` on every push"),
            "{msg:?}"
        );
    }
}

#[test]
fn v2_0_shared_image_root_first_is_deterministic_but_same_namespace_is_not() {
    let mut m = mesh(MeshVersion::V2_0);
    add_app(&mut m, "shop", "web");
    let root = sme("istio-system", "mesh", "PreAuthZ", None);
    let mut local = sme("shop", "local", "PreAuthZ", None);
    local.image = root.image.clone();
    m.extensions = vec![local.clone(), root.clone()];
    assert_eq!(ext_names(&m), v(&["mesh", "local"]));
    assert!(chains(&m)[0].order_varies.is_empty());
    let msg = messages(&m, "MX601");
    assert!(
        msg[0].contains("on every push") && !msg[0].contains("push to push"),
        "{msg:?}"
    );
    // A second local SME with the same image: the map order of `shop` decides.
    let mut other = sme("shop", "other", "PreAuthZ", None);
    other.image = root.image.clone();
    m.extensions.push(other);
    let c = chains(&m);
    assert_eq!(c[0].order_varies, vec![Phase::PreAuthZ]);
    let msg = messages(&m, "MX601");
    assert!(
        msg[0].contains("`shop/local` and `shop/other`") && msg[0].contains("push to push"),
        "{msg:?}"
    );
    let json = meshext_lint::chain::render::json_value(m.version, &c);
    assert_eq!(
        json["workloads"][0]["order_varies"],
        serde_json::json!(["PreAuthZ"])
    );
    assert!(meshext_lint::chain::render::human(&c)
        .contains("note: PreAuthZ order may change from push to push"));
    // v2.1 tells them apart by name.
    m.version = MeshVersion::V2_1;
    assert!(chains(&m)[0].order_varies.is_empty());
}

// Point 2 — `policy_applier.go` `AuthNFilter` / `setAuthnFilterForPeerAuthn` (maistra-2.1):
// a gateway gets istio_authn for an ISTIO_MUTUAL server; v2.0 and v2.2 have no such case.

#[test]
fn istio_mutual_gateway_server_adds_istio_authn_on_v2_1_only() {
    for version in MeshVersion::WITH_SME {
        let mut m = mesh(version);
        m.namespaces
            .push(Meta::synthetic("Namespace", "", "istio-system"));
        m.workloads.push(gateway("istio-system", "ingress"));
        m.gateways.push(gateway_resource(
            "shop",
            "mtls",
            &[(443, "HTTPS", Some("ISTIO_MUTUAL"))],
        ));
        m.extensions = vec![sme("istio-system", "auth", "PostAuthN", None)];
        let c = chains(&m);
        let n = names(&c[0]);
        let authn = n.iter().position(|x| x == "istio_authn");
        if version == MeshVersion::V2_1 {
            let i = authn.unwrap_or_else(|| panic!("{version}: {n:?}"));
            assert_eq!(n[i + 1], "auth", "PostAuthN anchors after it: {n:?}");
            assert!(messages(&m, "MX609").is_empty());
        } else {
            assert_eq!(authn, None, "{version}: {n:?}");
        }
        // A Gateway that selects other pods changes nothing (the plain HTTP one still serves).
        m.gateways.last_mut().unwrap().selector = Some(labels(&[("istio", "egressgateway")]));
        assert!(!names(&chains(&m)[0]).contains(&"istio_authn".to_string()));
    }
}

// Point 3 — `context.go` `SetServiceInstances` (creation time, then hostname) and
// `controller.go` `getProxyServiceInstancesByPod` (ports from a Go map), maistra-2.1/2.2.

#[test]
fn services_order_by_hostname_not_name() {
    let mut m = mesh(MeshVersion::V2_2);
    m.workloads.push(sidecar("shop", "web"));
    let t = "2024-01-01T00:00:00Z";
    m.services.push(service("shop", "web", "web", &[8080], t));
    m.services
        .push(service("shop", "web-v2", "web", &[9090], t));
    m.extensions = vec![sme("shop", "auth", "PostAuthZ", None)];
    let c = chains(&m);
    let p = c[0].ports.as_ref().unwrap();
    // "web-v2.shop.svc…" < "web.shop.svc…" because '-' < '.'.
    assert_eq!(p.services, v(&["shop/web-v2", "shop/web"]));
    assert_eq!(p.patched, v(&["9090"]));
    assert!(!p.random);
}

fn named_port(name: Option<&str>, app: Option<&str>, port: i64) -> ServicePort {
    ServicePort {
        name: name.map(str::to_string),
        port,
        target_port: port.to_string(),
        protocol: "TCP".into(),
        app_protocol: app.map(str::to_string),
    }
}

#[test]
fn port_protocols_follow_convert_protocol() {
    use meshext_lint::chain::port_info;
    let cases = [
        (named_port(Some("http-web"), None, 80), "http", true),
        (named_port(Some("grpc-web-ui"), None, 80), "grpc-web", true),
        (named_port(Some("tcp-db"), None, 80), "tcp", false),
        (named_port(Some("mongo"), None, 80), "mongo", false),
        (named_port(Some("redis-cache"), None, 80), "redis", false),
        (named_port(Some("https"), None, 443), "https", false),
        (named_port(Some("web"), Some("mysql"), 80), "mysql", false),
        (named_port(Some("tcp-x"), Some("http"), 80), "http", true),
        (named_port(Some("db"), None, 3306), "tcp", false),
        (named_port(None, None, 27017), "tcp", false),
    ];
    for (p, proto, http) in cases {
        for sniffing in [true, false] {
            let i = port_info(&p, sniffing);
            assert_eq!((i.protocol.as_str(), i.http), (proto, http), "{p:?}");
        }
    }
    // An unnamed port is sniffed only with autoDetect.inbound (`ModelProtocolToListenerProtocol`);
    // the OSSM base template turns it off, so it is a TCP chain.
    let unnamed = named_port(None, None, 8080);
    assert!(port_info(&unnamed, true).http);
    let off = port_info(&unnamed, false);
    assert_eq!((off.protocol.as_str(), off.http), ("tcp", false));
}

#[test]
fn unnamed_ports_need_inbound_sniffing() {
    let mut m = mesh(MeshVersion::V2_1);
    m.workloads.push(sidecar("shop", "web"));
    let mut svc = service("shop", "web", "web", &[], "2024-01-01T00:00:00Z");
    svc.ports = vec![named_port(None, None, 8080)];
    m.services.push(svc);
    m.extensions = vec![sme("shop", "auth", "PostAuthZ", None)];
    assert_eq!(chains(&m)[0].gate, Some(Gate::NoHttpPort));
    let human = meshext_lint::chain::render::human(&chains(&m));
    assert!(
        human.contains("note: ports istiod patches: 8080 (tcp)"),
        "{human}"
    );
    m.control_planes[0].inbound_sniffing = Some(true);
    assert_eq!(chains(&m)[0].gate, None);
}

#[test]
fn several_ports_of_one_service_are_a_random_pick() {
    let mut m = mesh(MeshVersion::V2_1);
    m.workloads.push(sidecar("shop", "web"));
    let mut svc = service("shop", "web", "web", &[], "2024-01-01T00:00:00Z");
    svc.ports = vec![
        named_port(Some("http"), None, 8080),
        named_port(Some("tcp-metrics"), None, 9100),
    ];
    m.services.push(svc);
    m.extensions = vec![sme("shop", "auth", "PostAuthZ", None)];
    let c = chains(&m);
    let p = c[0].ports.as_ref().unwrap();
    assert!(p.random);
    assert_eq!(p.patched, v(&["8080"]));
    assert_eq!(
        p.candidates
            .iter()
            .map(|c| (c.port.as_str(), c.http))
            .collect::<Vec<_>>(),
        [("8080", true), ("9100", false)]
    );
    let msg = messages(&m, "MX604");
    assert!(
        msg[0].contains("picked at random") && msg[0].contains("9100 (tcp)"),
        "{msg:?}"
    );
    let j = meshext_lint::chain::render::json_value(m.version, &c);
    assert_eq!(j["workloads"][0]["patched_port_random"], true);
    assert_eq!(j["workloads"][0]["candidate_ports"][1]["protocol"], "tcp");
    // Only TCP ports: nothing is applied, and MX604 says why.
    m.services[0].ports.remove(0);
    let c = chains(&m);
    assert_eq!(c[0].gate, Some(Gate::NoHttpPort));
    assert_eq!(c[0].extensions().count(), 0);
    assert!(messages(&m, "MX604")[0].contains("not HTTP"));
    // v2.0 patches every port, but a TCP one still has no HTTP filters.
    m.version = MeshVersion::V2_0;
    assert_eq!(chains(&m)[0].gate, Some(Gate::NoHttpPort));
}

// Point 7 — `builder.go` `buildHTTP` / `extauthz.go` `getExtAuthz` (maistra-2.1/2.2).

#[test]
fn custom_without_usable_provider_is_one_deny_all_rbac() {
    let mut m = mesh(MeshVersion::V2_1);
    add_app(&mut m, "shop", "web");
    m.extensions = vec![sme("shop", "pre", "PreAuthZ", None)];
    m.authorization_policies
        .push(authz("shop", "ext", AuthzAction::Custom, None));
    let with = names(&chains(&m)[0]);
    assert!(with.contains(&"ext_authz".to_string()), "{with:?}");
    let deny_all = |m: &Mesh| {
        let c = chains(m);
        let n = names(&c[0]);
        assert!(!n.contains(&"ext_authz".to_string()), "{n:?}");
        assert_eq!(n.iter().filter(|x| *x == "rbac").count(), 1, "{n:?}");
        assert_eq!(n[n.iter().position(|x| x == "rbac").unwrap() - 1], "pre");
        c[0].custom_deny_all.clone().expect("a reason")
    };
    // Unknown provider.
    m.authorization_policies[0].provider = Some("opa".into());
    assert!(deny_all(&m).contains("\"opa\" is not in meshConfig.extensionProviders"));
    // Two CUSTOM policies naming different providers.
    m.authorization_policies[0].provider = Some("ext-authz".into());
    let mut second = authz("shop", "ext2", AuthzAction::Custom, None);
    second.provider = Some("other".into());
    m.authorization_policies.push(second);
    assert!(deny_all(&m).contains("only one provider"));
    m.authorization_policies.pop();
    // An invalid provider entry.
    m.control_planes[0].extension_providers[0].port = Some(0);
    assert!(deny_all(&m).contains("port"));
    // Without a control plane the providers are unknown: ext_authz is assumed.
    m.control_planes.clear();
    assert!(names(&chains(&m)[0]).contains(&"ext_authz".to_string()));
}

// Point 8 — what the API server rejects never reaches istiod.

fn chain_json(dir: &std::path::Path, yaml: &str) -> Value {
    let f = write(dir, "mesh.yaml", yaml);
    let out = run(&["chain", f.to_str().unwrap(), "--format", "json"]);
    serde_json::from_slice(&out.stdout).unwrap()
}

const CP: &str = "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\nspec: {version: VERSION, techPreview: {wasmExtensions: {enabled: true}}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: istio-system}\nspec: {template: {metadata: {labels: {app: web}, annotations: {sidecar.istio.io/inject: \"true\"}}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: istio-system}\nspec: {selector: {app: web}, ports: [{name: http, port: 80}]}\n";

fn skipped(j: &Value) -> Vec<(String, String)> {
    j["workloads"][0]["skipped"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["extension"].as_str().unwrap().to_string(),
                        s["reason"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn rejected_objects_are_skipped_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let sme = |api: &str, name: &str, priority: &str| {
        format!("---\napiVersion: {api}\nkind: ServiceMeshExtension\nmetadata: {{name: {name}, namespace: istio-system}}\nspec: {{image: quay.io/a/{name}:1, phase: PostAuthZ, priority: {priority}}}\n")
    };
    // maistra.io/v1 is not served on v2.0.
    let yaml = CP.replace("VERSION", "v2.0") + &sme("maistra.io/v1", "new", "1");
    let j = chain_json(dir.path(), &yaml);
    let s = skipped(&j);
    assert_eq!(s[0].0, "istio-system/new");
    assert!(s[0].1.contains("maistra.io/v1 is not served"), "{s:?}");
    // Priorities: a string, a fraction and a float beyond 2^53 are rejected; 5.0 is stored as 5.
    let yaml = CP.replace("VERSION", "v2.1")
        + &sme("maistra.io/v1", "text", "\"10\"")
        + &sme("maistra.io/v1", "half", "1.5")
        + &sme("maistra.io/v1", "huge", "1e20")
        + &sme("maistra.io/v1", "whole", "5.0");
    let j = chain_json(dir.path(), &yaml);
    let s: Vec<String> = skipped(&j).into_iter().map(|(e, _)| e).collect();
    assert_eq!(
        s,
        v(&[
            "istio-system/text",
            "istio-system/half",
            "istio-system/huge"
        ])
    );
    let whole = j["workloads"][0]["filters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "whole")
        .unwrap();
    assert_eq!(whole["priority"], 5);
    // The model reports the same reasons to the library.
    let mut m = mesh(MeshVersion::V2_0);
    add_app(&mut m, "shop", "web");
    let mut e = chain_support::sme("shop", "x", "PostAuthZ", None);
    e.meta.api_version = "maistra.io/v1".into();
    m.extensions = vec![e];
    assert!(matches!(
        chains(&m)[0].skipped[0].skip,
        Some(SkipReason::ApiVersionNotServed(_))
    ));
}

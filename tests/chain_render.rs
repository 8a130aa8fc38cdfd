//! Renderers (human, json, dot, mermaid) and `chain --diff`.

mod chain_support;
use chain_support::*;
use meshext_lint::chain::{diff, render};
use meshext_lint::model::*;

fn sample() -> Mesh {
    let mut m = mesh(MeshVersion::V2_1);
    add_app(&mut m, "shop", "web");
    m.extensions = vec![sme("istio-system", "auth", "PreAuthN", Some(1000))];
    m
}

#[test]
fn json_has_the_documented_shape() {
    let m = sample();
    let v = render::json_value(m.version, &chains(&m));
    assert_eq!(v["version"], 1);
    assert_eq!(v["mesh_version"], "v2.1");
    let w = &v["workloads"][0];
    assert_eq!(
        (
            w["namespace"].as_str(),
            w["name"].as_str(),
            w["kind"].as_str()
        ),
        (Some("shop"), Some("web"), Some("Deployment"))
    );
    assert_eq!(
        (w["proxy"].as_str(), w["listener"].as_str()),
        (Some("sidecar"), Some("inbound"))
    );
    let f = w["filters"].as_array().unwrap();
    assert_eq!(f[0]["name"], "istio.metadata_exchange");
    assert_eq!(f[0]["builtin"], true);
    assert_eq!(f[1]["name"], "auth");
    assert_eq!(f[1]["builtin"], false);
    assert_eq!(f[1]["extension"], "istio-system/auth");
    assert_eq!(f[1]["phase"], "PreAuthN");
    assert_eq!(f[1]["priority"], 1000);
    assert_eq!(f[2]["name"], "istio_authn");
    assert!(render::json(m.version, &chains(&m)).ends_with("}\n"));
}

#[test]
fn human_table_lists_filters_and_notes() {
    let mut m = sample();
    m.services[0].ports.push(ServicePort {
        name: None,
        port: 9090,
        target_port: "9090".into(),
        protocol: "TCP".into(),
        app_protocol: None,
    });
    let s = render::human(&chains(&m));
    // Two target ports of one Service: istiod's pick comes from a Go map.
    assert!(
        s.starts_with(
            "Deployment shop/web (v2.1 sidecar, inbound, one of ports 8080, 9090 per push)"
        ),
        "{s}"
    );
    assert!(
        s.contains("note: the patched port is random per push: istiod takes the first of shop/web's ports 8080 (http), 9090 (tcp) in Go map order"),
        "{s}"
    );
    // A second, newer Service instead: deterministic, the oldest Service's port.
    let mut m = sample();
    let mut svc = m.services[0].clone();
    svc.meta.name = "web-admin".into();
    svc.meta.creation_timestamp = Some("2099-01-01T00:00:00Z".into());
    svc.ports[0].target_port = "9090".into();
    m.services.push(svc);
    let s = render::human(&chains(&m));
    assert!(
        s.starts_with("Deployment shop/web (v2.1 sidecar, inbound, port 8080)"),
        "{s}"
    );
    assert!(
        s.contains("auth")
            && s.contains("PreAuthN")
            && s.contains("1000")
            && s.contains("SME istio-system/auth")
    );
    assert!(
        s.contains("note: extensions only on inbound port 8080 (of 8080, 9090)"),
        "{s}"
    );
    assert_eq!(render::human(&[]), "no workloads in the mesh\n");
}

#[test]
fn dot_and_mermaid_escape_names() {
    let mut m = sample();
    m.workloads[0].meta.name = "we\"b".into();
    let c = chains(&m);
    let dot = render::dot(&c);
    assert!(
        dot.starts_with("digraph chains {")
            && dot.contains("we\\\"b")
            && dot.contains("w0_0 -> w0_1")
    );
    let mer = render::mermaid(&c);
    assert!(
        mer.starts_with("flowchart LR")
            && mer.contains("we#quot;b")
            && mer.contains("w0_1([\"auth<br/>PreAuthN 1000\"])"),
        "{mer}"
    );
}

#[test]
fn diff_reports_only_changed_workloads() {
    let mut old = sample();
    add_app(&mut old, "shop", "api");
    let mut new = sample();
    add_app(&mut new, "shop", "api");
    new.extensions.push(sme_sel(
        "shop",
        "audit",
        "PostAuthZ",
        None,
        &[("app", "api")],
    ));
    add_app(&mut new, "shop", "cart");
    let d = diff(&chains(&old), &chains(&new));
    let who: Vec<_> = d.changes.iter().map(|c| c.workload.as_str()).collect();
    assert_eq!(
        who,
        [
            "Deployment shop/api (inbound)",
            "Deployment shop/cart (inbound)"
        ]
    );
    let text = diff::render_text(&d);
    assert!(
        text.contains("+ audit [PostAuthZ 0] shop/audit quay.io/acme/audit:1.0"),
        "{text}"
    );
    assert!(text.contains("Deployment shop/cart (inbound) (added)"));
    let md = diff::render_markdown(&d);
    assert!(
        md.contains("| `Deployment shop/api (inbound)` | changed |") && md.contains("```diff"),
        "{md}"
    );
    let same = diff(&chains(&old), &chains(&old));
    assert!(same.is_empty());
    assert_eq!(diff::render_text(&same), "no filter chain changes\n");
    // Removed workloads.
    let d = diff(&chains(&new), &chains(&old));
    assert!(d
        .changes
        .iter()
        .any(|c| c.new.is_none() && c.workload.ends_with("cart (inbound)")));
}

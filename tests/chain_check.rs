//! Rules MX601–MX609: each fires where it should and stays quiet otherwise.

mod chain_support;
use chain_support::*;
use meshext_lint::chain::{build_chains, ExtensionDefaults, ManifestDefaults};
use meshext_lint::diag::Severity;
use meshext_lint::model::*;
use meshext_lint::rules::chains::check;

fn run(m: &Mesh) -> Vec<meshext_lint::diag::Diagnostic> {
    run_with(m, &ExtensionDefaults::default())
}

fn run_with(m: &Mesh, d: &ExtensionDefaults) -> Vec<meshext_lint::diag::Diagnostic> {
    let c = build_chains(m, d);
    check(m, &c, d)
}

fn only<'a>(
    d: &'a [meshext_lint::diag::Diagnostic],
    rule: &str,
) -> Vec<&'a meshext_lint::diag::Diagnostic> {
    d.iter().filter(|x| x.rule == rule).collect()
}

fn base(version: MeshVersion) -> Mesh {
    let mut m = mesh(version);
    add_app(&mut m, "shop", "web");
    m
}

#[test]
fn catalogue_has_every_chain_rule() {
    for id in [
        "MX601", "MX602", "MX603", "MX604", "MX605", "MX606", "MX608", "MX609", "MX610",
    ] {
        let r = meshext_lint::rules::get(id).unwrap_or_else(|| panic!("{id} missing"));
        assert!(!r.example_fail.is_empty() && !r.example_pass.is_empty());
    }
}

#[test]
fn mx601_tie_fires_once_per_group_and_not_for_distinct_priorities() {
    let mut m = base(MeshVersion::V2_1);
    add_app(&mut m, "shop", "api");
    m.extensions = vec![
        sme("shop", "a", "PreAuthN", Some(3)),
        sme("shop", "b", "PreAuthN", Some(3)),
    ];
    let d = run(&m);
    let f = only(&d, "MX601");
    assert_eq!(f.len(), 1, "{d:#?}");
    assert!(
        f[0].message.contains("2 workloads") && f[0].message.contains("`name + image`"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].related.len(), 3, "other SME + 2 workloads");
    m.extensions[1].priority = Some(4);
    assert!(only(&run(&m), "MX601").is_empty());
}

#[test]
fn mx601_v2_0_same_image_is_non_deterministic() {
    let mut m = base(MeshVersion::V2_0);
    let a = sme("shop", "a", "PreAuthN", None);
    let mut b = sme("shop", "b", "PreAuthN", None);
    b.image = a.image.clone();
    m.extensions = vec![a, b];
    let d = run(&m);
    assert!(only(&d, "MX601")[0].message.contains("from push to push"));
}

#[test]
fn mx602_poststats_with_telemetry_only() {
    let mut m = base(MeshVersion::V2_1);
    add_app(&mut m, "shop", "api");
    add_app(&mut m, "shop", "db");
    m.extensions = vec![sme("shop", "stats-tag", "PostStats", None)];
    let d = run(&m);
    let f = only(&d, "MX602");
    assert_eq!(f.len(), 1, "grouped over 3 workloads");
    assert!(f[0].message.contains("3 workloads"));
    m.version = MeshVersion::V2_0;
    m.control_planes[0].telemetry_type = Some("None".into());
    assert!(only(&run(&m), "MX602").is_empty());
}

#[test]
fn mx603_between_rbac_and_before_ext_authz() {
    let mut m = base(MeshVersion::V2_1);
    m.extensions = vec![sme("shop", "post", "PostAuthZ", None)];
    m.authorization_policies = vec![authz("shop", "allow", AuthzAction::Allow, None)];
    assert!(only(&run(&m), "MX603").is_empty());
    m.authorization_policies
        .push(authz("shop", "deny", AuthzAction::Deny, None));
    let d = run(&m);
    assert!(only(&d, "MX603")[0]
        .message
        .contains("between RBAC filters"));
    m.authorization_policies = vec![authz("shop", "ext", AuthzAction::Custom, None)];
    let d = run(&m);
    assert!(only(&d, "MX603")[0].message.contains("ext_authz"));
}

#[test]
fn mx604_several_ports_or_no_service() {
    let mut m = base(MeshVersion::V2_2);
    m.request_authentications.push(reqauthn("shop", "jwt", 1));
    m.extensions = vec![sme("shop", "auth", "PreAuthN", None)];
    assert!(only(&run(&m), "MX604").is_empty());
    m.services[0].ports.push(ServicePort {
        name: None,
        port: 9090,
        target_port: "9090".into(),
        protocol: "TCP".into(),
        app_protocol: None,
    });
    // Two target ports of one Service: the pick comes from a Go map.
    let d = run(&m);
    let f = only(&d, "MX604");
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("picked at random")
            && f[0]
                .message
                .contains("ports 8080 (http), 9090 (tcp) of shop/web"),
        "{}",
        f[0].message
    );
    // The second port in a newer Service instead: always the oldest Service's port.
    let mut newer = m.services[0].clone();
    newer.meta.name = "web-admin".into();
    newer.meta.creation_timestamp = Some("2030-01-01T00:00:00Z".into());
    newer.ports.remove(0);
    m.services[0].ports.pop();
    m.services.push(newer);
    let d = run(&m);
    let f = only(&d, "MX604");
    assert!(
        f[0].message.contains("only port 8080 of 8080, 9090"),
        "{}",
        f[0].message
    );
    // v2.0 patches every port.
    m.version = MeshVersion::V2_0;
    assert!(only(&run(&m), "MX604").is_empty());
    m.services.clear();
    assert!(only(&run(&m), "MX604")[0].message.contains("no Service"));
}

#[test]
fn mx605_no_envoyfilter_is_an_error() {
    let mut m = base(MeshVersion::V2_1);
    m.extensions = vec![sme("shop", "auth", "PreAuthN", None)];
    assert!(only(&run(&m), "MX605").is_empty());
    m.control_planes[0].telemetry_type = Some("None".into());
    let d = run(&m);
    let f = only(&d, "MX605");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Error);
    m.version = MeshVersion::V2_0;
    assert!(only(&run(&m), "MX605").is_empty());
}

#[test]
fn mx606_override_of_manifest() {
    let mut m = base(MeshVersion::V2_1);
    m.extensions = vec![sme("shop", "auth", "PostAuthZ", Some(5))];
    let mut d = ExtensionDefaults::default();
    d.manifests.insert(
        "shop/auth".into(),
        ManifestDefaults {
            phase: Some("PostAuthZ".into()),
            priority: Some(5),
            digest: None,
        },
    );
    assert!(only(&run_with(&m, &d), "MX606").is_empty());
    d.manifests.get_mut("shop/auth").unwrap().phase = Some("PreAuthN".into());
    let out = run_with(&m, &d);
    let f = only(&out, "MX606");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Info);
}

#[test]
fn mx608_authn_phases_before_custom() {
    let mut m = base(MeshVersion::V2_1);
    m.extensions = vec![sme("shop", "claims", "PostAuthN", None)];
    assert!(only(&run(&m), "MX608").is_empty());
    m.authorization_policies = vec![authz("shop", "ext", AuthzAction::Custom, None)];
    assert_eq!(only(&run(&m), "MX608").len(), 1);
}

#[test]
fn mx609_no_authn_anchor_warning_on_v2_2_sidecar_info_on_gateway() {
    let mut m = base(MeshVersion::V2_2);
    m.extensions = vec![sme("shop", "auth", "PreAuthN", None)];
    let d = run(&m);
    assert_eq!(only(&d, "MX609")[0].severity, Severity::Warning);
    m.request_authentications.push(reqauthn("shop", "jwt", 1));
    assert!(only(&run(&m), "MX609").is_empty());
    m.version = MeshVersion::V2_1;
    m.request_authentications.clear();
    assert!(
        only(&run(&m), "MX609").is_empty(),
        "v2.1 sidecars always have istio_authn"
    );
    m.workloads
        .push(gateway("istio-system", "istio-ingressgateway"));
    m.extensions = vec![sme("istio-system", "gw", "PreAuthN", None)];
    let d = run(&m);
    let f = only(&d, "MX609");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Info);
}

#[test]
fn many_workloads_one_finding_with_bounded_listing() {
    let mut m = mesh(MeshVersion::V2_1);
    for i in 0..300 {
        add_app(&mut m, "shop", &format!("w{i}"));
    }
    m.extensions = vec![sme("istio-system", "stats", "PostStats", None)];
    let d = run(&m);
    let f = only(&d, "MX602");
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("300 workloads") && f[0].message.contains("and 295 more"));
    assert!(f[0].related.len() <= 5);
    assert!(f[0].location.is_some());
}

//! Issue 16, "silent passes": numbers the JSON form changes. `.nan`/`.inf` in an extension's
//! `config` become `null`, and a `priority` written as a float or beyond int64 passes
//! `type: integer` while the chain ignores it; each is an MX103 finding at the value.

mod common;
use common::*;

fn lint_spec(spec: &str) -> (i32, serde_json::Value) {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("ext.yaml");
    std::fs::write(
        &p,
        format!(
            "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\n\
             metadata: {{name: auth, namespace: shop}}\nspec:\n  image: quay.io/acme/auth:1.0\n  \
             phase: PostAuthZ\n{spec}"
        ),
    )
    .unwrap();
    lint_json(&["--no-config", "--mesh-version", "2.1", p.to_str().unwrap()])
}

fn mx103(json: &serde_json::Value) -> Vec<String> {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "MX103")
        .map(|d| format!("{} {}", d["line"], d["message"]))
        .collect()
}

#[test]
fn nan_and_inf_in_config_are_findings_at_the_value() {
    let (code, json) =
        lint_spec("  priority: 5\n  config:\n    ratio: .nan\n    limits: [1, -.inf]\n");
    let found = mx103(&json);
    assert_eq!(found.len(), 2, "{json:#}");
    assert!(
        found[0].starts_with("9 ") && found[0].contains("config.ratio"),
        "{found:?}"
    );
    assert!(
        found[1].starts_with("10 ") && found[1].contains("config.limits[1]"),
        "{found:?}"
    );
    assert_eq!(code, 1);
}

#[test]
fn priority_beyond_int64_float_or_nan_is_a_finding() {
    for (value, what) in [
        ("99999999999999999999", "int64"),
        ("5.0", "int64"),
        ("1e20", "int64"),
        (".nan", ".nan"),
        (".inf", "infinite"),
    ] {
        let (code, json) = lint_spec(&format!("  priority: {value}\n"));
        let found = mx103(&json);
        assert_eq!(found.len(), 1, "{value}: {json:#}");
        assert!(
            found[0].starts_with("7 ") && found[0].contains("priority") && found[0].contains(what),
            "{value}: {found:?}"
        );
        assert_eq!(code, 1, "{value}");
    }
    // A real integer and a fractional one (already a type error) are unchanged.
    assert!(mx103(&lint_spec("  priority: 5\n").1).is_empty());
    assert_eq!(mx103(&lint_spec("  priority: 5.5\n").1).len(), 1);
}

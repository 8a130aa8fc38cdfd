//! What the WasmPlugin units (MX309–MX319) share: the Istio release they judge against, how
//! they name it, and the field table `rules/abi/wasm_plugin_fields.tsv`.

use crate::model::{IstioVersion, Mesh, MeshVersion, Meta};
use std::sync::OnceLock;

/// `1.<minor>`.
pub(crate) const fn istio(minor: u8) -> IstioVersion {
    IstioVersion {
        major: 1,
        minor,
        patch: None,
    }
}

/// The Istio release WasmPlugins are judged against: the mesh's, when it serves the API at all
/// (older meshes get MX105 instead; an unknown release gets MX206/MX208 and no judgement here).
pub(crate) fn release(mesh: &Mesh) -> Option<IstioVersion> {
    mesh.istio
        .map(IstioVersion::minor_release)
        .filter(|v| *v >= IstioVersion::WASM_PLUGIN)
}

/// `Istio 1.14 (OSSM v2.3)`: the release, with the OSSM version built on it when the mesh is an
/// OSSM one (an SMCP, the Sail operator, or a mesh version given by the user); an IstioOperator
/// or `--istio-version` mesh is plain Istio.
pub(crate) fn label(mesh: &Mesh, v: IstioVersion) -> String {
    use crate::model::{IstioKind, VersionSource};
    let ossm = !mesh.control_planes.is_empty()
        || mesh
            .istio_control_planes
            .iter()
            .any(|c| c.kind != IstioKind::Operator)
        || matches!(
            mesh.version_source,
            Some(VersionSource::CommandLine | VersionSource::Config)
        );
    match v
        .row()
        .and_then(|r| r.ossm)
        .filter(|o| ossm && *o == mesh.version)
    {
        Some(o) => format!("Istio {v} (OSSM {o})"),
        None => format!("Istio {v}"),
    }
}

/// `Istio 1.19, OSSM v2.6`: a release, with the first OSSM version built on it or a later one.
pub(crate) fn first_with(v: IstioVersion) -> String {
    let ossm: Option<MeshVersion> = crate::model::version::istio_rows()
        .iter()
        .filter(|r| r.istio >= v)
        .find_map(|r| r.ossm);
    match ossm {
        Some(o) => format!("Istio {v}, OSSM {o}"),
        None => format!("Istio {v}"),
    }
}

/// Whether `spec.<field>` is written with a non-null value (the API server drops nulls).
pub(crate) fn has_field(meta: &Meta, field: &str) -> bool {
    meta.doc
        .root
        .pointer(&format!("/spec/{field}"))
        .is_some_and(|(_, n)| !matches!(n.value, crate::load::yaml::Value::Null))
}

/// One row of `rules/abi/wasm_plugin_fields.tsv`.
#[derive(Debug)]
pub(crate) struct FieldRow {
    pub field: &'static str,
    /// `Some(v)` for an enum value row (`failStrategy=FAIL_RELOAD`).
    pub value: Option<&'static str>,
    pub since: IstioVersion,
    pub without: &'static str,
}

/// The embedded table, parsed once; a malformed row is a build bug (tested), so it panics.
pub(crate) fn fields() -> &'static [FieldRow] {
    static ROWS: OnceLock<Vec<FieldRow>> = OnceLock::new();
    ROWS.get_or_init(|| {
        const P: &str = "abi/wasm_plugin_fields.tsv";
        let text = crate::data::file(P).expect("rules/abi/wasm_plugin_fields.tsv is embedded");
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .skip(1)
            .map(|l| {
                let c: Vec<&str> = l.split('\t').collect();
                let since = c
                    .get(1)
                    .and_then(|s| IstioVersion::parse(s))
                    .unwrap_or_else(|| panic!("rules/{P}: bad row {l:?}"));
                let (field, value) = match c[0].split_once('=') {
                    Some((f, v)) => (f, Some(v)),
                    None => (c[0], None),
                };
                FieldRow {
                    field,
                    value,
                    since,
                    without: c.get(2).copied().unwrap_or(""),
                }
            })
            .collect()
    })
}

/// The first release whose CRD has `field` (`None` for a field the table does not know).
pub(crate) fn field_since(field: &str) -> Option<IstioVersion> {
    fields()
        .iter()
        .find(|r| r.field == field && r.value.is_none())
        .map(|r| r.since)
}

/// Whether `field` exists in release `v`'s CRD (unknown fields are MX104's).
pub(crate) fn has_in(field: &str, v: IstioVersion) -> bool {
    field_since(field).is_some_and(|s| s <= v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_table_is_the_union_schema() {
        // Every field of the union schema has a row, and nothing else does: a field the table
        // does not know would be neither pruned (MX309) nor unknown (MX104).
        let schema: serde_json::Value =
            serde_json::from_str(crate::data::file("schemas/wasmplugin.v1alpha1.json").unwrap())
                .unwrap();
        let mut want: Vec<&str> = schema["properties"]["spec"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut have: Vec<&str> = fields()
            .iter()
            .filter(|r| r.value.is_none())
            .map(|r| r.field)
            .collect();
        want.sort();
        have.sort();
        assert_eq!(have, want);
        for r in fields().iter().filter(|r| r.value.is_some()) {
            let e = &schema["properties"]["spec"]["properties"][r.field]["enum"];
            assert!(
                e.as_array().unwrap().iter().any(|x| x.as_str() == r.value),
                "{}={:?} not in the schema enum",
                r.field,
                r.value
            );
        }
        assert_eq!(field_since("match"), Some(istio(16)));
        assert_eq!(field_since("targetRefs"), Some(istio(22)));
        assert!(has_in("vmConfig", istio(14)) && !has_in("vmConfig", istio(13)));
    }

    #[test]
    fn first_with_names_the_ossm_release() {
        assert_eq!(first_with(istio(16)), "Istio 1.16, OSSM v2.4");
        assert_eq!(first_with(istio(19)), "Istio 1.19, OSSM v2.6");
        assert_eq!(first_with(istio(27)), "Istio 1.27, OSSM v3.2");
    }
}

/// Fixtures the WasmPlugin units' tests share.
#[cfg(test)]
pub(crate) mod support {
    use crate::diag::Diagnostic;
    use crate::rules::fixture;
    use crate::rules::registry::Unit;

    /// A WasmPlugin `shop/auth` whose spec starts with `url:` on line 5; append more spec lines.
    pub(crate) const WP: &str = "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: auth, namespace: shop}\nspec:\n  url: oci://quay.io/acme/auth:1.0\n";

    /// `unit` on `plugin` in a mesh of upstream Istio `release` (an IstioOperator's `tag`).
    pub(crate) fn on_istio(unit: &dyn Unit, plugin: &str, release: &str) -> Vec<Diagnostic> {
        fixture::check(
            unit,
            &format!("{plugin}---\napiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {{name: cp, namespace: istio-system}}\nspec: {{tag: '{release}'}}\n"),
        )
    }

    /// `unit` on `plugin` in an OSSM 2.x mesh (an SMCP of `version`).
    pub(crate) fn on_ossm(unit: &dyn Unit, plugin: &str, version: &str) -> Vec<Diagnostic> {
        fixture::check(
            unit,
            &format!("{plugin}---\napiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {{name: basic, namespace: istio-system}}\nspec: {{version: {version}}}\n"),
        )
    }
}

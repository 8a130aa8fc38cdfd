//! Fixture-style tests of one rule unit: a YAML text in, the unit's findings out.

use crate::chain::{self, ExtensionDefaults};
use crate::diag::Diagnostic;
use crate::extensions::Resolution;
use crate::load::inputs::{add_source, Loaded};
use crate::model;
use crate::rules::registry::{Facts, Unit};

/// A control plane at `version` (`extra_cp`: more lines of its `spec`, indented by two), the
/// member roll (`shop`) and one injected Deployment, `shop/web` (`app: web`); callers append
/// the rest (`---` and their resources).
pub(crate) fn shop_web(version: &str, extra_cp: &str) -> String {
    format!(
        "apiVersion: maistra.io/v2
kind: ServiceMeshControlPlane
metadata: {{name: basic, namespace: istio-system}}
spec:
  version: {version}
{extra_cp}---
apiVersion: maistra.io/v1
kind: ServiceMeshMemberRoll
metadata: {{name: default, namespace: istio-system}}
spec: {{members: [shop]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  template:
    metadata:
      annotations: {{sidecar.istio.io/inject: \"true\"}}
      labels: {{app: web}}
"
    )
}

/// Loads `yaml` as `fixture.yaml`, gathers the facts (no images) and runs `unit` alone.
pub(crate) fn check(unit: &dyn Unit, yaml: &str) -> Vec<Diagnostic> {
    let mut loaded = Loaded::default();
    add_source(&mut loaded, "fixture.yaml".into(), yaml.as_bytes().to_vec());
    let mesh = model::build::build(&loaded.documents, None);
    let defaults = ExtensionDefaults::default();
    let chains = chain::build_chains(&mesh, &defaults);
    let facts = Facts {
        load_problems: &loaded.problems,
        documents: &loaded.documents,
        mesh: &mesh,
        resolution: &Resolution::default(),
        defaults: &defaults,
        chains: &chains,
        image_sources: &[],
        startups: &[],
        suppression_problems: &[],
    };
    let mut out = Vec::new();
    unit.check(&facts, &mut out);
    out
}

/// `MX301 7:10` for each finding, the way `# expect:` lines in samples/broken read.
pub(crate) fn positions(found: &[Diagnostic]) -> Vec<String> {
    found
        .iter()
        .map(|d| match &d.location {
            Some(l) => format!("{} {}:{}", d.rule, l.line, l.column),
            None => d.rule.to_string(),
        })
        .collect()
}

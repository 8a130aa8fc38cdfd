//! MX307: the status says the extension is not ready, so istiod skips it.

use crate::diag::Diagnostic;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Status;

impl Unit for Status {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX307]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_status(facts, out);
    }
}

/// MX307: the status says the extension is not ready, so istiod skips it.
fn check_status(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    for e in &ctx.mesh.extensions {
        if e.status_ready != Some(false) {
            continue;
        }
        let msg = e
            .meta
            .doc
            .str_at("/status/deployment/message")
            .unwrap_or("no message");
        out.push(
            Diagnostic::new(RuleId::MX307, format!("status.deployment.ready is false ({msg}): istiod skips extensions that are not ready"))
                .at(e.meta.loc("/status/deployment/ready"))
                .resource(e.meta.display())
                .help("fix the cause in the status message (usually the image pull), then let the cacher retry"),
        );
    }
}

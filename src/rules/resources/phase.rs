//! MX301: a phase that is not one of the six.

use crate::diag::Diagnostic;
use crate::model::PHASES;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct PhaseName;

impl Unit for PhaseName {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX301]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_phase(facts, out);
    }
}

/// MX301: unknown phase.
fn check_phase(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    for e in &ctx.mesh.extensions {
        let Some(phase) = e.phase.as_deref() else {
            continue;
        };
        if PHASES.contains(&phase) {
            continue;
        }
        let near = PHASES.iter().find(|p| p.eq_ignore_ascii_case(phase));
        let help = match near {
            Some(p) => format!("phases are case-sensitive: did you mean `{p}`?"),
            None => format!("use one of {}", PHASES.join(", ")),
        };
        out.push(
            Diagnostic::new(
                RuleId::MX301,
                format!("phase `{phase}` is not one of the six phases: the API accepts it, but the extension is never injected"),
            )
            .at(e.meta.loc("/spec/phase"))
            .resource(e.meta.display())
            .help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture;

    const SME: &str = "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: auth, namespace: shop}\nspec:\n  image: quay.io/a/b:1\n";

    #[test]
    fn a_phase_in_the_wrong_case_is_named() {
        let found = fixture::check(&PhaseName, &format!("{SME}  phase: postauthz\n"));
        assert_eq!(fixture::positions(&found), ["MX301 6:10"]);
        assert_eq!(
            found[0].help.as_deref(),
            Some("phases are case-sensitive: did you mean `PostAuthZ`?")
        );
        assert!(fixture::check(&PhaseName, &format!("{SME}  phase: PostAuthZ\n")).is_empty());
    }
}

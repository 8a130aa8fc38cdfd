//! MX602 (PostStats before stats), MX603 (PostAuthZ between authorizers), MX608 (before the
//! CUSTOM authorizer) and MX609 (no authentication anchor): where an extension lands in the
//! chain relative to the built-in filters its phase names.

use super::{at_ext, Groups};
use crate::chain::builtins::{is_cors_or_fault, EXT_AUTHZ, RBAC, STATS};
use crate::chain::select::Phase;
use crate::chain::{Filter, Origin, WorkloadChain};
use crate::diag::{Diagnostic, Severity};
use crate::model::ProxyType;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Positions;

impl Unit for Positions {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX602, RuleId::MX603, RuleId::MX608, RuleId::MX609]
    }

    fn stage(&self) -> Stage {
        Stage::Chains
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let mut g = Groups::default();
        for (ci, c) in facts.chains.iter().enumerate() {
            scan_positions(c, ci, &mut g);
        }
        g.report(facts, out, |rule, ext, reason, list| {
            let name = &ext.meta.name;
            Some(match rule {
                RuleId::MX602 => at_ext(rule, ext, "/spec/phase", format!(
                    "PostStats extension `{name}` runs before `istio.stats` on {list}: the telemetry EnvoyFilter inserts stats after the SME patch"))
                    .help("PostStats behaves like PreStats here. If the extension must see the stats filter's work, it cannot be an SME; otherwise use PreStats to say what happens."),
                RuleId::MX603 => at_ext(rule, ext, "/spec/phase", format!("PostAuthZ extension `{name}` lands {reason} on {list}"))
                    .help("PostAuthZ is placed right after the first RBAC filter. Do not rely on it running after every authorization decision; consolidate the AuthorizationPolicy actions or move the logic."),
                RuleId::MX608 => at_ext(rule, ext, "/spec/phase", format!(
                    "extension `{name}` ({reason}) runs before the CUSTOM external authorizer and before JWT validation on {list}"))
                    .help("With a CUSTOM AuthorizationPolicy, ext_authz is placed first; authentication-phase extensions see unauthenticated requests."),
                RuleId::MX609 => {
                    let d = at_ext(rule, ext, "/spec/phase", format!(
                        "authentication-phase extension `{name}` has no authentication filter to anchor to ({reason}) and runs just before the router, after CORS and fault injection, on {list}"))
                        .help("istio_authn exists only with JWT rules (policy_applier.go setAuthnFilterForRequestAuthn), except on v2.0/v2.1 sidecars and v2.1 gateways with an ISTIO_MUTUAL server. Add a RequestAuthentication with jwtRules that selects these workloads, or choose a phase that matches where the extension actually runs.");
                    if reason.starts_with("gateway") { d.severity(Severity::Info) } else { d }
                }
                _ => return None,
            })
        });
    }
}

fn scan_positions(c: &WorkloadChain, ci: usize, g: &mut Groups) {
    let sidecar = c.proxy == ProxyType::Sidecar;
    let has_authn = c.filters.iter().any(|f| {
        matches!(
            f.builtin_name(),
            Some(crate::chain::builtins::JWT | crate::chain::builtins::AUTHN)
        )
    });
    for (i, f) in c.filters.iter().enumerate() {
        let Filter::Extension(e) = f else { continue };
        let Some(phase) = e.phase else { continue };
        let rest = &c.filters[i + 1..];
        let later = |n: &str| rest.iter().any(|f| f.builtin_name() == Some(n));
        let before = &c.filters[..i];
        match phase {
            Phase::PostStats
                if rest.iter().any(|f| {
                    matches!(
                        f,
                        Filter::Builtin {
                            name: STATS,
                            origin: Origin::Telemetry
                        }
                    )
                }) =>
            {
                g.add(RuleId::MX602, e.index, "", ci, String::new());
            }
            Phase::PostAuthZ => {
                if rest.iter().any(|f| {
                    matches!(
                        f,
                        Filter::Builtin {
                            name: EXT_AUTHZ,
                            ..
                        }
                    )
                }) {
                    g.add(
                        RuleId::MX603,
                        e.index,
                        "between the shadow RBAC and ext_authz (CUSTOM policy)",
                        ci,
                        String::new(),
                    );
                } else if later(RBAC) {
                    g.add(
                        RuleId::MX603,
                        e.index,
                        "between RBAC filters (several AuthorizationPolicy actions)",
                        ci,
                        String::new(),
                    );
                }
            }
            _ => {}
        }
        if matches!(phase, Phase::PreAuthN | Phase::PostAuthN | Phase::PreAuthZ) && later(EXT_AUTHZ)
        {
            g.add(RuleId::MX608, e.index, phase.as_str(), ci, String::new());
        }
        if matches!(phase, Phase::PreAuthN | Phase::PostAuthN)
            && !has_authn
            && before
                .iter()
                .any(|f| f.builtin_name().is_some_and(is_cors_or_fault))
        {
            let reason = if sidecar {
                "sidecar without a RequestAuthentication that has jwtRules"
            } else {
                "gateway without a RequestAuthentication that has jwtRules"
            };
            g.add(RuleId::MX609, e.index, reason, ci, String::new());
        }
    }
}

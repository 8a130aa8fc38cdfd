use super::mesh_args::{load_mesh, select_config, ConfigArgs, MeshArgs};
use super::{exit, usage_error, write_stdout, write_text};
use crate::chain::{self, render, WorkloadChain};
use clap::{Args, ValueEnum};
use globset::Glob;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChainFormat {
    Human,
    Json,
    Dot,
    Mermaid,
    /// Markdown (for `--diff`: a pull-request comment).
    Markdown,
}

/// What the chain model reads and what it infers (README, "What `chain` models").
const LIMITS: &str = "\
What the chain is built from:
  reads     ServiceMeshControlPlane (version, techPreview.wasmExtensions, telemetry.type,
            addons.prometheus/stackdriver, proxy.injection.autoInject, the injector's
            objectSelector), ServiceMeshMemberRoll/Member, pod templates (labels, the
            sidecar.istio.io/inject annotation and label, istio-proxy containers, hostNetwork),
            Services, Gateways, AuthorizationPolicies, RequestAuthentications, EnvoyFilters
            (selectors only), ServiceMeshExtensions and the manifests of pulled images.
  infers    the telemetry EnvoyFilters from the operator's charts for the version; which pods
            get a proxy (injection is opt-in; without a ServiceMeshControlPlane the OSSM
            defaults apply); gateways by their `istio: *gateway` label or name; Service order
            from creationTimestamp (none = newest); the HTTP servers of each gateway.
  ignores   WasmPlugins, Sidecar resources, always/neverInjectSelector, revisions, protocol
            sniffing, EnvoyFilter patches other than the telemetry ones, Pods created by
            workloads not in the inputs, anything only the cluster knows (status, endpoints).
Workloads without a proxy, and gateways without an HTTP server, are listed with the reason and
no filters.";

#[derive(Args, Debug)]
#[command(after_long_help = LIMITS)]
pub struct ChainArgs {
    #[command(flatten)]
    pub mesh: MeshArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only workloads matching NAMESPACE/NAME (globs allowed, e.g. `shop/*`). Repeatable.
    #[arg(long, value_name = "NS/NAME")]
    pub workload: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: ChainFormat,
    /// Compare with the chains of OLD_PATH… (e.g. the base of a pull request) and print only
    /// workloads whose chain changes.
    #[arg(long, value_name = "OLD_PATH", num_args = 1..)]
    pub diff: Vec<String>,
    /// Images for the old tree in `--diff` [default: the same as --images].
    #[arg(long, value_name = "PATH")]
    pub diff_images: Vec<std::path::PathBuf>,
}

fn select(chains: Vec<WorkloadChain>, patterns: &[String]) -> Result<Vec<WorkloadChain>, String> {
    if patterns.is_empty() {
        return Ok(chains);
    }
    let mut matchers = Vec::new();
    for p in patterns {
        matchers.push(
            Glob::new(p)
                .map_err(|e| format!("--workload {p:?}: {e}"))?
                .compile_matcher(),
        );
    }
    let keep: Vec<WorkloadChain> = chains
        .into_iter()
        .filter(|c| matchers.iter().any(|m| m.is_match(c.key())))
        .collect();
    if keep.is_empty() {
        return Err(format!(
            "no workload in the mesh matches {}",
            patterns.join(", ")
        ));
    }
    Ok(keep)
}

pub fn run(args: ChainArgs) -> i32 {
    let cfg = match select_config(args.config.config.as_deref(), args.config.no_config) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let opts = args.mesh.options(&cfg, &args.mesh.paths);
    let new = match load_mesh(&opts) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let version = new.mesh.version;
    let new_chains = match select(new.chains, &args.workload) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    if args.diff.is_empty() {
        let text = match args.format {
            ChainFormat::Human => render::human(&new_chains),
            ChainFormat::Json => render::json(version, &new_chains),
            ChainFormat::Dot => render::dot(&new_chains),
            ChainFormat::Mermaid => render::mermaid(&new_chains),
            ChainFormat::Markdown => format!("```mermaid\n{}```\n", render::mermaid(&new_chains)),
        };
        return match args.format {
            ChainFormat::Json => write_stdout(text.as_bytes()),
            _ => write_text(&text),
        };
    }
    let mut old_opts = args.mesh.options(&cfg, &args.diff);
    if !args.diff_images.is_empty() {
        old_opts.images = args.diff_images.clone();
    }
    let old = match load_mesh(&old_opts) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    // A workload filter that matches nothing on one side is fine when diffing.
    let old_chains = select(old.chains, &args.workload).unwrap_or_default();
    let d = chain::diff(&old_chains, &new_chains);
    let text = match args.format {
        ChainFormat::Markdown => chain::diff::render_markdown(&d),
        ChainFormat::Json => chain::diff::render_json(&d),
        ChainFormat::Human => chain::diff::render_text(&d),
        ChainFormat::Dot | ChainFormat::Mermaid => {
            return usage_error("--diff prints human, markdown or json")
        }
    };
    let code = match args.format {
        ChainFormat::Json => write_stdout(text.as_bytes()),
        _ => write_text(&text),
    };
    if code != exit::OK {
        return code;
    }
    exit::OK
}

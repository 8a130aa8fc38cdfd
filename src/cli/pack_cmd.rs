use super::usage_error;
use crate::image::pack::{self, WasmPluginVariant};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Which image `pack` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PackFormat {
    /// A ServiceMeshExtension image: /manifest.yaml and the module (OSSM 2.0–2.2).
    Sme,
    /// A WasmPlugin image as istio-agent fetches it (`--variant`).
    Wasmplugin,
}

/// The WasmPlugin image variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PackVariant {
    /// One gzip layer holding /plugin.wasm (read by every Istio/OSSM version).
    Compat,
    /// The 2-layer OCI artifact (raw module layer + its config layer).
    Artifact,
}

#[derive(Args, Debug)]
pub struct PackArgs {
    /// The extension's manifest.yaml (`--format sme`).
    #[arg(long, required_if_eq("format", "sme"))]
    pub manifest: Option<PathBuf>,
    /// The compiled module (.wasm).
    #[arg(long)]
    pub module: PathBuf,
    /// The image reference to record, e.g. quay.io/acme/auth:1.0.
    #[arg(long = "ref", value_name = "REF")]
    pub reference: String,
    /// Output: an OCI layout directory, or an OCI archive when it ends in `.tar`.
    #[arg(long)]
    pub out: PathBuf,
    /// The kind of image.
    #[arg(long, value_enum, default_value = "sme")]
    pub format: PackFormat,
    /// The WasmPlugin variant (`--format wasmplugin`).
    #[arg(long, value_enum, default_value = "compat")]
    pub variant: PackVariant,
}

pub fn run(args: PackArgs) -> i32 {
    let r = match (args.format, &args.manifest) {
        (PackFormat::Sme, Some(m)) => pack::pack(m, &args.module, &args.reference, &args.out),
        (PackFormat::Sme, None) => Err("--format sme needs --manifest".into()),
        (PackFormat::Wasmplugin, Some(_)) => {
            Err("a WasmPlugin image has no manifest.yaml: drop --manifest".into())
        }
        (PackFormat::Wasmplugin, None) => {
            let v = match args.variant {
                PackVariant::Compat => WasmPluginVariant::Compat,
                PackVariant::Artifact => WasmPluginVariant::Artifact,
            };
            pack::pack_wasm_plugin(&args.module, &args.reference, &args.out, v)
        }
    };
    match r {
        Ok(r) => super::write_stdout(format!("{} {}\n", r.digest, r.reference).as_bytes()),
        Err(e) => usage_error(e),
    }
}

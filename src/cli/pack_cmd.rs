use super::usage_error;
use crate::image::pack;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PackArgs {
    /// The extension's manifest.yaml.
    #[arg(long)]
    pub manifest: PathBuf,
    /// The compiled module (.wasm).
    #[arg(long)]
    pub module: PathBuf,
    /// The image reference to record, e.g. quay.io/acme/auth:1.0.
    #[arg(long = "ref", value_name = "REF")]
    pub reference: String,
    /// Output: an OCI layout directory, or an OCI archive when it ends in `.tar`.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: PackArgs) -> i32 {
    match pack::pack(&args.manifest, &args.module, &args.reference, &args.out) {
        Ok(r) => super::write_stdout(format!("{} {}\n", r.digest, r.reference).as_bytes()),
        Err(e) => usage_error(e),
    }
}

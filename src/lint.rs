//! The `lint` pipeline: load inputs → build the mesh → run the checks. Later stages (images,
//! ABI, chains, runtime) plug in here, so every command sees the same mesh.

use crate::checks::{self, Context};
use crate::diag::Diagnostic;
use crate::load::inputs::{self, InputPath};
use crate::load::Document;
use crate::model::{self, Mesh, MeshVersion, VersionSource};
use crate::source::SourceFile;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Paths, directories, globs or `-`.
    pub paths: Vec<String>,
    /// Glob patterns of files to skip when walking directories.
    pub ignore: Vec<String>,
    pub mesh_version: Option<(MeshVersion, VersionSource)>,
}

/// Everything a run produced.
pub struct Outcome {
    pub mesh: Mesh,
    pub documents: Vec<Arc<Document>>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: HashMap<String, Arc<SourceFile>>,
    pub files: usize,
}

/// A problem that stops the run before any finding (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Loads the inputs and builds the mesh (no checks).
pub fn load(opts: &LintOptions) -> Result<Outcome, UsageError> {
    let ignore = inputs::globset(&opts.ignore).map_err(UsageError)?;
    let paths: Vec<InputPath> = inputs::expand(&opts.paths, &ignore).map_err(UsageError)?;
    let loaded = inputs::load(&paths).map_err(UsageError)?;
    let mesh = model::build::build(&loaded.documents, opts.mesh_version.clone());
    let sources = loaded
        .sources
        .iter()
        .map(|s| (s.name.clone(), s.clone()))
        .collect();
    Ok(Outcome {
        mesh,
        documents: loaded.documents,
        diagnostics: loaded.diagnostics,
        sources,
        files: paths.len(),
    })
}

/// Loads and checks.
pub fn lint(opts: &LintOptions) -> Result<Outcome, UsageError> {
    let mut out = load(opts)?;
    let ctx = Context {
        mesh: &out.mesh,
        documents: &out.documents,
    };
    let found = checks::run(&ctx);
    out.diagnostics.extend(found);
    out.diagnostics.sort_by_key(|d| d.sort_key());
    out.diagnostics.dedup();
    Ok(out)
}

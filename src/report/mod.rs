//! Rendering findings. Every format gets the same [`Report`]; the exit code never depends on
//! the format (see `crate::cli`).

pub mod human;
pub mod json;

use crate::diag::{Diagnostic, Summary};
use crate::source::SourceFile;
use std::collections::HashMap;
use std::sync::Arc;

/// Output formats of `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// What a run found, ready to render.
pub struct Report<'a> {
    pub diagnostics: &'a [Diagnostic],
    /// Source texts by file name, for snippets.
    pub sources: &'a HashMap<String, Arc<SourceFile>>,
    /// Number of files read.
    pub files: usize,
    pub mesh_version: String,
    /// Use ANSI colours (human format only).
    pub color: bool,
}

impl Report<'_> {
    pub fn summary(&self) -> Summary {
        Summary::of(self.diagnostics)
    }

    /// Findings that count (not suppressed).
    pub fn active(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.suppressed.is_none())
    }
}

pub fn render(format: Format, report: &Report) -> String {
    match format {
        Format::Human => human::render(report),
        Format::Json => json::render(report),
    }
}

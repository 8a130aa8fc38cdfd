//! `migrate` output: human text, JSON, and Markdown for a pull-request description.

use super::{Converted, Migration};
use crate::report::escape_controls;

fn clean(s: &str) -> String {
    escape_controls(s, false).into_owned()
}

/// What was written, for the summary line.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Written {
    /// Files written or rewritten.
    pub files: Vec<String>,
}

pub fn human(m: &Migration, written: &Written) -> String {
    let mut out = format!(
        "ServiceMeshExtension → WasmPlugin, {} → {}: {} extension(s)\n",
        m.from,
        m.to,
        m.plugins.len()
    );
    for p in &m.plugins {
        out.push_str(&format!(
            "\n{} {} ({}:{}:{})\n",
            if p.kept() { "✔" } else { "✘" },
            clean(&p.key),
            clean(&p.location.file),
            p.location.line,
            p.location.column
        ));
        out.push_str(&format!(
            "  phase {} → {}, priority {} → {}, root id {} → pluginName {}\n",
            p.phase_from.as_deref().unwrap_or("(none)"),
            p.phase_to.as_str(),
            p.priority_from,
            p.priority_to,
            clean(&p.root_id_from),
            clean(&p.root_id_to)
        ));
        for c in &p.changes {
            out.push_str(&format!(
                "  {} {}\n",
                if c.kept { "·" } else { "✘" },
                clean(&c.message)
            ));
        }
    }
    if !m.existing_wasm_plugins.is_empty() {
        out.push_str(&format!(
            "\nWasmPlugins already in the inputs, left alone (check their priorities against the converted ones): {}\n",
            clean(&m.existing_wasm_plugins.join(", "))
        ));
    }
    if m.differences.is_empty() {
        out.push_str(&format!(
            "\nChains: the WasmPlugins on {} run where and in the order the SMEs ran on {} (every workload and listener).\n",
            m.to, m.from
        ));
    } else {
        out.push_str(&format!(
            "\nChains: {} place(s) where what runs changes (extensions in order; [authn], [authz], [stats] mark the built-in filters):\n",
            m.differences.len()
        ));
        for d in &m.differences {
            out.push_str(&format!("  ✘ {}\n", clean(&d.to_string())));
        }
    }
    if !m.soft_differences.is_empty() {
        out.push_str("  · the fault and CORS filters now run after the plugins instead of before (or the reverse); this matters only where a VirtualService injects faults or sets a CORS policy:\n");
        for d in &m.soft_differences {
            out.push_str(&format!("    {}\n", clean(&d.to_string())));
        }
    }
    for x in &m.mismatches {
        out.push_str(&format!("  ✘ --verify: {}\n", clean(&x.to_string())));
    }
    let kept = m.plugins.iter().filter(|p| p.kept()).count();
    out.push_str(&format!(
        "\n{kept} of {} kept what runs; {} need attention.\n",
        m.plugins.len(),
        m.plugins.len() - kept
    ));
    if written.files.is_empty() {
        out.push_str("Nothing written: pass --out DIR or --in-place to write the WasmPlugins.\n");
    } else {
        out.push_str(&format!("Wrote {}\n", clean(&written.files.join(", "))));
    }
    out
}

pub fn json(m: &Migration, written: &Written) -> String {
    let v = serde_json::json!({
        "from": m.from.to_string(),
        "to": m.to.to_string(),
        "kept": m.kept(),
        "plugins": m.plugins.iter().map(plugin_json).collect::<Vec<_>>(),
        "existing_wasm_plugins": m.existing_wasm_plugins,
        "differences": m.differences,
        "fault_cors_differences": m.soft_differences,
        "verify_mismatches": m.mismatches,
        "written": written.files,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

fn plugin_json(p: &Converted) -> serde_json::Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("kept".into(), p.kept().into());
    }
    v
}

/// A pull-request description: what changed, what could not be kept, what to check.
pub fn markdown(m: &Migration, written: &Written) -> String {
    let md = |s: &str| clean(s).replace('|', "\\|").replace('`', "'");
    let mut out = format!(
        "## ServiceMeshExtension → WasmPlugin ({} → {})\n\n",
        m.from, m.to
    );
    let not_kept: Vec<&Converted> = m.plugins.iter().filter(|p| !p.kept()).collect();
    out.push_str(&if not_kept.is_empty() && m.differences.is_empty() {
        format!(
            "All {} extension(s) converted without changing what runs.\n\n",
            m.plugins.len()
        )
    } else if not_kept.is_empty() {
        "**The chains differ** (below).\n\n".to_string()
    } else {
        format!(
            "**{} of {} extension(s) could not be converted without a behaviour change** (below).\n\n",
            not_kept.len(),
            m.plugins.len()
        )
    });
    out.push_str("| SME | phase | priority | pluginName | kept |\n|---|---|---|---|---|\n");
    for p in &m.plugins {
        out.push_str(&format!(
            "| `{}` | {} → {} | {} → {} | `{}` | {} |\n",
            md(&p.key),
            p.phase_from.as_deref().unwrap_or("—"),
            p.phase_to.as_str(),
            p.priority_from,
            p.priority_to,
            md(&p.root_id_to),
            if p.kept() { "yes" } else { "**no**" }
        ));
    }
    if !not_kept.is_empty() {
        out.push_str("\n### What could not be kept\n\n");
        for p in &not_kept {
            for c in p.changes.iter().filter(|c| !c.kept) {
                out.push_str(&format!("- `{}`: {}\n", md(&p.key), md(&c.message)));
            }
        }
    }
    out.push_str("\n### Chains\n\n");
    if m.differences.is_empty() {
        out.push_str(&format!(
            "Every workload and listener runs the same extensions in the same order on {} as on {}.\n",
            m.to, m.from
        ));
    } else {
        for d in &m.differences {
            out.push_str(&format!("- {}\n", md(&d.to_string())));
        }
    }
    for x in &m.mismatches {
        out.push_str(&format!("- `--verify`: {}\n", md(&x.to_string())));
    }
    if !m.soft_differences.is_empty() {
        out.push_str("\nThe fault and CORS filters change places relative to the plugins; check the VirtualServices of these workloads for fault injection or CORS policies:\n\n");
        for d in &m.soft_differences {
            out.push_str(&format!("- {}\n", md(&d.to_string())));
        }
    }
    out.push_str("\n### What to check\n\n");
    for p in &m.plugins {
        for c in p.changes.iter().filter(|c| c.kept) {
            out.push_str(&format!("- `{}`: {}\n", md(&p.key), md(&c.message)));
        }
    }
    if !written.files.is_empty() {
        out.push_str(&format!(
            "\nFiles: {}\n",
            written
                .files
                .iter()
                .map(|f| format!("`{}`", md(f)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}

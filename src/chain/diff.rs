//! `chain --diff`: which workloads' chains change between two trees (base and head).

use super::{Filter, WorkloadChain};
use std::collections::HashMap;
use std::fmt::Write;

/// One workload whose chain differs. `old`/`new` are `None` when the workload is only on
/// one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainChange {
    /// `Kind namespace/name`.
    pub workload: String,
    pub old: Option<Vec<String>>,
    pub new: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainDiff {
    pub changes: Vec<ChainChange>,
}

impl ChainDiff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// One filter as a comparable line.
fn filter_line(f: &Filter) -> String {
    match f {
        Filter::Builtin { name, .. } => name.to_string(),
        Filter::WasmPlugin(p) => format!(
            "{} [{} {}] WasmPlugin {} {}",
            p.filter_name,
            p.phase.as_str(),
            p.priority.map_or("unset".into(), |v| v.to_string()),
            p.key(),
            p.url
        ),
        Filter::Extension(e) => {
            let phase = e.phase.map(|p| p.as_str()).unwrap_or("?");
            let version = e.digest.as_deref().unwrap_or(&e.image);
            format!("{} [{phase} {}] {} {version}", e.name, e.priority, e.key())
        }
    }
}

/// A chain as comparable lines: one per filter, plus a note when SMEs are not applied, then
/// the network filters (NETWORK WasmPlugins), each line prefixed with its stack.
pub fn lines(c: &WorkloadChain) -> Vec<String> {
    let mut out: Vec<String> = c.filters.iter().map(filter_line).collect();
    if let Some(g) = c.gate {
        if !c.unapplied.is_empty() {
            let names: Vec<String> = c.unapplied.iter().map(|e| e.key()).collect();
            out.push(format!(
                "(not applied: {}; {})",
                names.join(", "),
                g.describe()
            ));
        }
    }
    for n in &c.network {
        let stack = match n.port {
            Some(p) => format!("(network {} port {p})", n.terminal.as_str()),
            None => format!("(network {})", n.terminal.as_str()),
        };
        out.extend(
            n.filters
                .iter()
                .map(|f| format!("{stack} {}", filter_line(f))),
        );
    }
    out
}

fn key(c: &WorkloadChain) -> String {
    c.label()
}

/// Workloads whose chain differs between `old` and `new`, in `new` order, then removed ones.
pub fn diff(old: &[WorkloadChain], new: &[WorkloadChain]) -> ChainDiff {
    let old_by: HashMap<String, &WorkloadChain> = old.iter().map(|c| (key(c), c)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut changes = Vec::new();
    for c in new {
        let k = key(c);
        seen.insert(k.clone());
        let after = lines(c);
        match old_by.get(&k) {
            Some(o) => {
                let before = lines(o);
                if before != after {
                    changes.push(ChainChange {
                        workload: k,
                        old: Some(before),
                        new: Some(after),
                    });
                }
            }
            None => changes.push(ChainChange {
                workload: k,
                old: None,
                new: Some(after),
            }),
        }
    }
    for c in old {
        let k = key(c);
        if !seen.contains(&k) {
            changes.push(ChainChange {
                workload: k,
                old: Some(lines(c)),
                new: None,
            });
        }
    }
    ChainDiff { changes }
}

/// Line edits (`' '`, `'-'`, `'+'`) turning `a` into `b` (LCS; long chains fall back to
/// "all removed, all added" to keep the cost bounded).
fn edits<'a>(a: &'a [String], b: &'a [String]) -> Vec<(char, &'a str)> {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > 4_000_000 {
        return a
            .iter()
            .map(|l| ('-', l.as_str()))
            .chain(b.iter().map(|l| ('+', l.as_str())))
            .collect();
    }
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if a[i] == b[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((' ', a[i].as_str()));
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[i + 1][j] >= t[i][j + 1]) {
            // Removals before additions, as unified diffs show a replaced line.
            out.push(('-', a[i].as_str()));
            i += 1;
        } else {
            out.push(('+', b[j].as_str()));
            j += 1;
        }
    }
    out
}

fn body(c: &ChainChange) -> Vec<(char, &str)> {
    let empty: &[String] = &[];
    edits(
        c.old.as_deref().unwrap_or(empty),
        c.new.as_deref().unwrap_or(empty),
    )
}

fn status(c: &ChainChange) -> &'static str {
    match (&c.old, &c.new) {
        (None, _) => "added",
        (_, None) => "removed",
        _ => "changed",
    }
}

/// Plain text: one block per changed workload, unified-diff style.
pub fn render_text(d: &ChainDiff) -> String {
    if d.is_empty() {
        return "no filter chain changes\n".to_string();
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} workload(s) with filter chain changes",
        d.changes.len()
    );
    for c in &d.changes {
        let _ = writeln!(s, "\n{} ({})", c.workload, status(c));
        for (op, line) in body(c) {
            let _ = writeln!(s, "  {op} {line}");
        }
    }
    s
}

/// Markdown for a PR comment: a summary table and a collapsible diff per workload.
pub fn render_markdown(d: &ChainDiff) -> String {
    let mut s = String::from("### meshext-lint: effective filter chain changes\n\n");
    if d.is_empty() {
        s.push_str("No workload's HTTP filter chain changes.\n");
        return s;
    }
    s.push_str("| workload | change | filters added | filters removed |\n|---|---|---|---|\n");
    let cell = |v: Vec<&str>| {
        if v.is_empty() {
            "–".to_string()
        } else {
            v.iter()
                .map(|l| format!("`{}`", l.replace('|', "\\|").replace('`', "'")))
                .collect::<Vec<_>>()
                .join("<br>")
        }
    };
    for c in &d.changes {
        let b = body(c);
        let added = b
            .iter()
            .filter(|(o, _)| *o == '+')
            .map(|(_, l)| *l)
            .collect();
        let removed = b
            .iter()
            .filter(|(o, _)| *o == '-')
            .map(|(_, l)| *l)
            .collect();
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} |",
            c.workload,
            status(c),
            cell(added),
            cell(removed)
        );
    }
    s.push('\n');
    for c in &d.changes {
        let _ = writeln!(
            s,
            "<details><summary><code>{}</code></summary>\n\n```diff",
            c.workload.replace('<', "&lt;")
        );
        for (op, line) in body(c) {
            let _ = writeln!(s, "{op} {}", line.replace("```", "'''"));
        }
        s.push_str("```\n\n</details>\n");
    }
    s
}

/// JSON: `{"version":1,"changes":[{"workload":…,"status":…,"old":[…]|null,"new":[…]|null}]}`.
pub fn render_json(d: &ChainDiff) -> String {
    let changes: Vec<serde_json::Value> = d
        .changes
        .iter()
        .map(|c| serde_json::json!({"workload": c.workload, "status": status(c), "old": c.old, "new": c.new}))
        .collect();
    let mut s =
        serde_json::to_string_pretty(&serde_json::json!({"version": 1, "changes": changes}))
            .unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::edits;

    #[test]
    fn a_replaced_line_shows_its_removal_first() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (a, b) = (s(&["mx", "old", "router"]), s(&["mx", "new", "router"]));
        assert_eq!(
            edits(&a, &b),
            vec![(' ', "mx"), ('-', "old"), ('+', "new"), (' ', "router")]
        );
        let (a, b) = (s(&["x"]), s(&["x", "y"]));
        assert_eq!(edits(&a, &b), vec![(' ', "x"), ('+', "y")]);
    }
}

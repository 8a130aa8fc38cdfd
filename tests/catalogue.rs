//! The rule catalogue is complete and consistent: every entry is reported by exactly one
//! registered rule unit, docs/rules/ is generated from it, and each lint rule's own examples
//! fire (and do not fire) as documented.

mod common;
use common::*;
use meshext_lint::rules::{self, registry, registry::UNITS, RuleId};
use std::collections::BTreeSet;

#[test]
fn entries_are_well_formed() {
    let all = rules::all();
    assert!(all.len() >= 20);
    for r in all {
        assert!(r.id.len() == 5 && r.id.starts_with("MX"), "{}", r.id);
        assert!(
            matches!(r.severity.as_str(), "error" | "warning" | "info"),
            "{}: severity",
            r.id
        );
        assert!(
            r.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{}: name",
            r.id
        );
        for (what, text) in [
            ("summary", &r.summary),
            ("explanation", &r.explanation),
            ("fix", &r.fix),
            ("example_fail", &r.example_fail),
            ("example_pass", &r.example_pass),
        ] {
            assert!(!text.trim().is_empty(), "{}: empty {what}", r.id);
        }
    }
    let files: Vec<_> = std::fs::read_dir(root().join("rules/catalogue"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for f in &files {
        let id = f.trim_end_matches(".yaml");
        assert!(
            rules::get(id).is_some_and(|r| r.id == id),
            "{f}: id does not match the file name"
        );
    }
}

#[test]
fn every_rule_is_owned_by_exactly_one_registered_unit() {
    let mut problems = Vec::new();
    for unit in UNITS {
        let ids = unit.ids();
        let distinct: BTreeSet<_> = ids.iter().collect();
        if ids.is_empty() || distinct.len() != ids.len() {
            problems.push(format!("a unit owns no rule or one rule twice: {ids:?}"));
        }
    }
    for &id in RuleId::ALL {
        let owners = UNITS.iter().filter(|u| u.ids().contains(&id)).count();
        match owners {
            1 => {}
            0 => problems.push(format!("{id}: no registered unit reports it")),
            n => problems.push(format!("{id}: owned by {n} units")),
        }
        assert_eq!(registry::owner(id).is_some(), owners > 0);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn docs_are_generated_from_the_catalogue() {
    // Regenerate with: UPDATE_DOCS=1 cargo test --test catalogue
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for r in rules::all() {
        let path = root().join(r.doc_path());
        let want = r.markdown();
        if update {
            std::fs::write(&path, &want).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
            stale.push(r.doc_path());
        }
    }
    assert!(
        stale.is_empty(),
        "stale docs (run UPDATE_DOCS=1 cargo test --test catalogue): {stale:?}"
    );
}

/// Rules checked on the resources alone: their catalogue examples must behave as documented.
#[test]
fn lint_rule_examples_fire_and_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for r in rules::all()
        .iter()
        .filter(|r| matches!(&r.id[2..3], "1" | "2" | "3") && r.needs.is_none())
    {
        for (example, should_fire) in [(&r.example_fail, true), (&r.example_pass, false)] {
            let p = write(dir.path(), &format!("{}-{should_fire}.yaml", r.id), example);
            let (_, json) = lint_json(&[p.to_str().unwrap()]);
            let fired = json["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["rule"] == r.id.as_str());
            if fired != should_fire {
                failures.push(format!(
                    "{}: example_{} {}",
                    r.id,
                    if should_fire { "fail" } else { "pass" },
                    if fired { "fires" } else { "does not fire" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

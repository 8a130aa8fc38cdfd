//! Embeds every data file under `rules/` (rule catalogue, JSON Schemas, ABI tables) into the
//! binary, so the tool needs nothing at run time besides its inputs.

use std::{env, fs, path::Path};

fn collect(dir: &Path, root: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, root, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push(format!(
                "    ({rel:?}, include_str!({:?})),\n",
                path.canonicalize().unwrap().to_string_lossy()
            ));
        }
    }
}

/// `enum RuleId` with one variant per `rules/catalogue/MXnnn.yaml`: a rule ID that is not in
/// the catalogue does not compile.
fn rule_ids(catalogue: &Path) -> String {
    let mut ids: Vec<String> = fs::read_dir(catalogue)
        .expect("rules/catalogue")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    for id in &ids {
        assert!(
            id.len() == 5 && id.starts_with("MX") && id[2..].bytes().all(|b| b.is_ascii_digit()),
            "rules/catalogue/{id}.yaml: file names must be rule IDs (MXnnn)"
        );
    }
    let variants: String = ids.iter().map(|id| format!("    {id},\n")).collect();
    let arms: String = ids
        .iter()
        .map(|id| format!("            RuleId::{id} => {id:?},\n"))
        .collect();
    let all: String = ids.iter().map(|id| format!("RuleId::{id}, ")).collect();
    let severities: String = ids
        .iter()
        .map(|id| {
            let text = fs::read_to_string(catalogue.join(format!("{id}.yaml"))).unwrap();
            let sev = text
                .lines()
                .find_map(|l| l.strip_prefix("severity:"))
                .map(|s| s.trim().trim_matches('"'))
                .unwrap_or_else(|| panic!("rules/catalogue/{id}.yaml: no severity"));
            let variant = match sev {
                "error" => "Error",
                "warning" => "Warning",
                "info" => "Info",
                other => panic!("rules/catalogue/{id}.yaml: severity {other:?}"),
            };
            format!("            RuleId::{id} => Severity::{variant},\n")
        })
        .collect();
    format!(
        "/// A rule of the catalogue (`rules/catalogue/<ID>.yaml`).\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]\n\
         pub enum RuleId {{\n{variants}}}\n\n\
         impl RuleId {{\n\
         \x20   /// Every rule, in ID order.\n\
         \x20   pub const ALL: &'static [RuleId] = &[{all}];\n\n\
         \x20   pub const fn as_str(self) -> &'static str {{\n\
         \x20       match self {{\n{arms}        }}\n    }}\n\n\
         \x20   /// The catalogue's `severity:`.\n\
         \x20   pub const fn default_severity(self) -> Severity {{\n\
         \x20       match self {{\n{severities}        }}\n    }}\n}}\n"
    )
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    println!("cargo:rerun-if-changed=rules");
    let mut rows = Vec::new();
    collect(&root, &root, &mut rows);
    let code = format!(
        "/// (path relative to `rules/`, contents) of every embedded data file.\n\
         pub static DATA_FILES: &[(&str, &str)] = &[\n{}];\n",
        rows.concat()
    );
    let out_dir = env::var("OUT_DIR").unwrap();
    fs::write(Path::new(&out_dir).join("data_files.rs"), code).unwrap();
    fs::write(
        Path::new(&out_dir).join("rule_ids.rs"),
        rule_ids(&root.join("catalogue")),
    )
    .unwrap();
}

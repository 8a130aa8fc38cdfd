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
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("data_files.rs");
    fs::write(out, code).unwrap();
}

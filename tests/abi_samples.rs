//! No false positives: the real SDK modules built into `samples/extensions/build/` must pass on
//! every mesh version whose proxy accepts their ABI, and fail only MX502 on v2.0 otherwise.

use meshext_lint::abi::{self, AbiVersion};
use meshext_lint::diag::Location;
use meshext_lint::model::MeshVersion;
use meshext_lint::rules;
use std::path::PathBuf;

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/extensions/build");
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "wasm") {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                out.push((name, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sdk_modules_conform_where_their_abi_is_accepted() {
    let modules = samples();
    assert!(
        modules.len() >= 3,
        "expected the SDK modules in samples/extensions/build (Rust, AssemblyScript, C++)"
    );
    for (name, bytes) in modules {
        let info = abi::analyze(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let marker = info.abi.unwrap_or_else(|| panic!("{name}: no ABI marker"));
        let at = Location::file_only(format!("samples/extensions/build/{name}"));
        for v in ["v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5", "v2.6"] {
            let version = MeshVersion::parse(v).unwrap();
            let found = rules::abi::judge(&info, version, &at, &name);
            let rules: Vec<&str> = found.iter().map(|d| d.rule.as_str()).collect();
            if version == MeshVersion::V2_0 && marker != AbiVersion::V0_1_0 {
                assert_eq!(rules, ["MX502"], "{name} on {v}: {found:#?}");
                assert!(found[0].message.contains("v2.0"), "{}", found[0].message);
            } else {
                assert!(found.is_empty(), "{name} on {v}: {found:#?}");
            }
        }
    }
}

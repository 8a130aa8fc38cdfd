//! One source of proxy facts: the static ABI analysis (`inspect`, `lint`) and the simulator's
//! linker both read `rules/abi/*.tsv`. These tests prove they agree.

use meshext_lint::abi::tables::{self, FnKind, WASI_MODULE};
use meshext_lint::abi::{self, AbiVersion, Sig, ValType};
use meshext_lint::diag::{Location, Severity};
use meshext_lint::model::MeshVersion;
use meshext_lint::simulate::host::profile::Profile;
use meshext_lint::simulate::vm::{self, Compiled, Limits};
use std::path::{Path, PathBuf};

/// Rules whose errors mean "the proxy refuses or fails to link the module".
const LINK_RULES: [&str; 6] = ["MX501", "MX502", "MX503", "MX504", "MX505", "MX506"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// Every sample module, the tiny broken-image modules and the compiled WAT fixtures.
fn modules() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for p in files(&root().join("samples/extensions/build"), "wasm") {
        out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
    }
    let broken = root().join("samples/broken/images");
    let mut images: Vec<PathBuf> = std::fs::read_dir(&broken)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    images.sort();
    for dir in images {
        for p in files(&dir, "wasm") {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    for p in files(&root().join("tests/fixtures/wat"), "wat") {
        let bytes = wat::parse_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        out.push((p.display().to_string(), bytes));
    }
    assert!(out.len() > 20, "found only {} modules", out.len());
    out
}

/// `inspect`'s verdict restricted to loading and linking: no MX501–MX506 error.
fn static_links(bytes: &[u8], v: MeshVersion) -> Result<(), String> {
    let info = abi::analyze(bytes).map_err(|e| format!("invalid: {e}"))?;
    let found = meshext_lint::rules::abi::judge(&info, v, &Location::file_only("m.wasm"), "m");
    let errors: Vec<String> = found
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .filter(|d| LINK_RULES.contains(&d.rule.to_string().as_str()))
        .map(|d| format!("{}: {}", d.rule, d.message))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn compile(bytes: &[u8]) -> Result<Compiled, String> {
    vm::compile(bytes, &Limits::default()).map_err(|e| e.to_string())
}

/// Whether the simulator's loader gets past linking on `profile` (start-up may still fail).
fn simulator_links(compiled: &Result<Compiled, String>, profile: Profile) -> Result<(), String> {
    let compiled = compiled.as_ref().map_err(|e| e.clone())?;
    vm::links(compiled, profile).map_err(|e| e.to_string())
}

#[test]
fn inspect_and_simulator_linker_agree_on_every_mesh_version() {
    let mut disagree = Vec::new();
    let modules: Vec<_> = modules()
        .into_iter()
        .map(|(name, bytes)| {
            let c = compile(&bytes);
            (name, bytes, c)
        })
        .collect();
    for row in &tables::get().mesh {
        let v = row.mesh;
        for (name, bytes, compiled) in &modules {
            let s = static_links(bytes, v);
            let d = simulator_links(compiled, Profile::for_mesh(v));
            if s.is_ok() != d.is_ok() {
                disagree.push(format!("{name} on {v}: inspect {s:?}, simulator {d:?}"));
            }
        }
    }
    assert!(disagree.is_empty(), "\n{}", disagree.join("\n"));
}

fn wat_types(types: &[ValType]) -> String {
    types
        .iter()
        .map(|t| match t {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            other => panic!("no host function takes {other:?}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn import_line(module: &str, name: &str, sig: &Sig) -> String {
    format!(
        "(import \"{module}\" \"{name}\" (func (param {}) (result {})))\n",
        wat_types(&sig.params),
        wat_types(&sig.results)
    )
}

/// Each import the tables say a proxy registers for an ABI links with the tables' signature
/// (the area files implement every row, and with the right types).
#[test]
fn simulator_registers_every_table_import_with_its_signature() {
    let t = tables::get();
    let mut profiles: Vec<Profile> = t.mesh.iter().map(|r| Profile::for_mesh(r.mesh)).collect();
    profiles.push(Profile::latest());
    for profile in profiles {
        for abi in AbiVersion::ALL {
            if profile.accepted_abi(&[abi]).is_none() {
                continue;
            }
            let mut imports = String::new();
            for (module, name) in t.host_imports(abi, profile.facts) {
                let sig = if module == WASI_MODULE {
                    // cpp-host registers these two with other arities than WASI preview1's.
                    if profile.facts.is_none() && (name == "path_link" || name == "path_symlink") {
                        continue;
                    }
                    t.wasi(name).unwrap().sig.clone()
                } else {
                    let row = t
                        .functions(FnKind::Import, module, name)
                        .find(|r| r.abi.contains(&abi))
                        .unwrap();
                    row.sig.clone().unwrap()
                };
                imports.push_str(&import_line(module, name, &sig));
            }
            let text = format!(
                "(module\n{imports}(memory (export \"memory\") 1)\n\
                 (func (export \"{}\"))\n\
                 (func (export \"malloc\") (param i32) (result i32) i32.const 0)\n\
                 (func (export \"proxy_on_context_create\") (param i32 i32)))",
                abi.marker()
            );
            let bytes = wat::parse_str(&text).unwrap();
            let linked = simulator_links(&compile(&bytes), profile);
            assert!(linked.is_ok(), "{} ABI {abi}: {linked:?}", profile.label());
        }
    }
}

//! Module → [`ModuleInfo`]: validation with `wasmparser`, then one pass over the sections that
//! matter (types, imports, functions, exports, memories, start).

use super::{
    AbiVersion, Export, ExternKind, Import, InvalidModule, ModuleInfo, Sig, ValType, MARKER_PREFIX,
};
use wasmparser::{
    CompositeInnerType, Encoding, ExternalKind, Parser, Payload, TypeRef, Validator, WasmFeatures,
};

/// Entry points in the order the hosts prefer them.
const ENTRY_POINTS: [&str; 5] = [
    "_initialize",
    "_start",
    "main",
    "__main_void",
    "__wasm_call_ctors",
];
const ALLOCATORS: [&str; 2] = ["malloc", "proxy_on_memory_allocate"];

/// The ABI markers `bytes` declares: function exports `proxy_abi_version_*` of a known version,
/// in export order. The simulator's loader reads them here instead of validating the whole
/// module again; [`analyze`] records the same exports in [`ModuleInfo::markers`].
pub fn abi_markers(bytes: &[u8]) -> Vec<AbiVersion> {
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::ExportSection(reader)) => {
                return reader
                    .into_iter()
                    .flatten()
                    .filter(|e| e.kind == ExternalKind::Func)
                    .filter_map(|e| AbiVersion::from_marker(e.name))
                    .collect();
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Vec::new()
}

/// Validates `bytes` as a core WebAssembly module and collects what the ABI checks need.
pub fn analyze(bytes: &[u8]) -> Result<ModuleInfo, InvalidModule> {
    // A component parses as WebAssembly too but no proxy loads one; say so plainly.
    if let Some(Ok(Payload::Version {
        encoding: Encoding::Component,
        range,
        ..
    })) = Parser::new(0).parse_all(bytes).next()
    {
        return Err(InvalidModule {
            message: "this is a WebAssembly component, not a core module; proxies load core \
                      modules only (build for wasm32-wasip1 / wasm32-unknown-unknown)"
                .into(),
            offset: range.start,
        });
    }
    if let Some(e) = bad_magic(bytes) {
        return Err(e);
    }
    Validator::new_with_features(WasmFeatures::default())
        .validate_all(bytes)
        .map_err(|e| InvalidModule {
            message: one_line(e.message()),
            offset: e.offset(),
        })?;
    collect(bytes).map_err(|e| InvalidModule {
        message: one_line(e.message()),
        offset: e.offset(),
    })
}

/// Not Wasm at all (WAT text, HTML, gzip, …): wasmparser's bad-magic message is a multi-line
/// byte dump, so say what the file starts with. The simulator's loader uses it too.
pub fn bad_magic(bytes: &[u8]) -> Option<InvalidModule> {
    if bytes.starts_with(b"\0asm") {
        return None;
    }
    let head = &bytes[..bytes.len().min(4)];
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    Some(InvalidModule {
        message: format!(
            "the file does not start with the WebAssembly magic `\\0asm` but with {:?} ({})",
            String::from_utf8_lossy(head),
            if hex.is_empty() {
                "empty".into()
            } else {
                hex.join(" ")
            }
        ),
        offset: 0,
    })
}

/// Findings are one line: some wasmparser messages embed pretty-printed values.
fn one_line(msg: &str) -> String {
    msg.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn val_type(t: &wasmparser::ValType) -> ValType {
    match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => ValType::Ref(r.to_string()),
    }
}

fn collect(bytes: &[u8]) -> wasmparser::Result<ModuleInfo> {
    let mut info = ModuleInfo {
        size: bytes.len(),
        ..ModuleInfo::default()
    };
    // Type index → signature (None for non-function types, e.g. GC structs).
    let mut types: Vec<Option<Sig>> = Vec::new();
    // Function index → type index (imports first, then the function section).
    let mut funcs: Vec<u32> = Vec::new();
    let mut raw_exports: Vec<(usize, String, ExternalKind, u32)> = Vec::new();
    let mut memories: Vec<bool> = Vec::new();
    let sig_of = |types: &[Option<Sig>], idx: u32| -> Sig {
        types
            .get(idx as usize)
            .cloned()
            .flatten()
            .unwrap_or_default()
    };

    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        types.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(Sig {
                                params: f.params().iter().map(val_type).collect(),
                                results: f.results().iter().map(val_type).collect(),
                            }),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for (index, item) in reader.into_iter_with_offsets().enumerate() {
                    let (offset, import) = item?;
                    let kind = match import.ty {
                        TypeRef::Func(t) => {
                            funcs.push(t);
                            ExternKind::Func(sig_of(&types, t))
                        }
                        TypeRef::Memory(m) => {
                            memories.push(m.memory64);
                            info.memory = true;
                            ExternKind::Memory {
                                memory64: m.memory64,
                            }
                        }
                        TypeRef::Table(_) => ExternKind::Table,
                        TypeRef::Global(_) => ExternKind::Global,
                        TypeRef::Tag(_) => ExternKind::Tag,
                    };
                    info.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind,
                        index,
                        offset,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    funcs.push(t?);
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader {
                    memories.push(m?.memory64);
                }
            }
            Payload::ExportSection(reader) => {
                for item in reader.into_iter_with_offsets() {
                    let (offset, e) = item?;
                    raw_exports.push((offset, e.name.to_string(), e.kind, e.index));
                }
            }
            Payload::StartSection { .. } => info.start_function = true,
            // Function bodies were validated already; skip them without decoding.
            _ => {}
        }
    }

    for (index, (offset, name, kind, idx)) in raw_exports.into_iter().enumerate() {
        let kind = match kind {
            ExternalKind::Func => {
                let t = funcs.get(idx as usize).copied().unwrap_or(u32::MAX);
                ExternKind::Func(sig_of(&types, t))
            }
            ExternalKind::Memory => {
                info.memory = true;
                ExternKind::Memory {
                    memory64: memories.get(idx as usize).copied().unwrap_or(false),
                }
            }
            ExternalKind::Table => ExternKind::Table,
            ExternalKind::Global => ExternKind::Global,
            ExternalKind::Tag => ExternKind::Tag,
        };
        let is_func = matches!(kind, ExternKind::Func(_));
        if is_func && name.starts_with(MARKER_PREFIX) {
            if info.abi.is_none() {
                info.abi = AbiVersion::from_marker(&name);
            }
            info.markers.push(name.clone());
        }
        info.exports.push(Export {
            name,
            kind,
            index,
            offset,
        });
    }
    for want in ENTRY_POINTS {
        if info.export(want).is_some_and(|e| e.kind.sig().is_some()) {
            info.entry_points.push(want.to_string());
        }
    }
    for want in ALLOCATORS {
        if info.export(want).is_some_and(|e| e.kind.sig().is_some()) {
            info.allocators.push(want.to_string());
        }
    }
    Ok(info)
}

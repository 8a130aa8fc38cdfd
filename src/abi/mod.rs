//! Static conformance of a WebAssembly module to the proxy-wasm ABI that a mesh version's proxy
//! offers, as facts ([`ModuleInfo`]) and typed problems ([`AbiProblem`]); the findings (MX405,
//! MX501–MX508) are raised by `rules::images` and `rules::abi`.
//!
//! Two steps, so that one module (one image digest) is parsed once and checked per mesh version:
//!
//! ```text
//! let info = abi::analyze(&bytes)?;                  // or an InvalidModule (MX405)
//! let problems = abi::check(&info, MeshVersion::V2_1, "quay.io/acme/auth:1.0");
//! println!("{}", abi::inspect::render(&info, MeshVersion::V2_1));
//! ```
//!
//! * [`analyze`] validates the bytes with `wasmparser` (default features) and collects imports,
//!   exports, ABI markers, entry points, allocator and memory into a [`ModuleInfo`]. It is one
//!   linear pass for validation plus one for the sections (function bodies are not decoded twice).
//! * [`check`] compares a [`ModuleInfo`] with the tables under `rules/abi/` for one mesh version:
//!   `mesh_versions.tsv` (host per version: accepted ABI markers, allocators, start exports),
//!   `functions.tsv` (host functions and looked-up exports with signatures and ABI versions) and
//!   `wasi.tsv` (WASI functions: ok / stub / missing per version). See [`tables`].
//! * [`inspect`] gives the grouped view (`proxy-wasm` / `WASI` / other imports, callbacks, ABI,
//!   allocator) that `meshext-lint inspect` prints.
//!
//! `subject` names the module in messages (an image reference or file name). Messages carry the
//! import/export index and byte offset inside the module where useful.
//!
//! Like Envoy, checking stops at the first load-stopping step: no marker (MX501) or a marker the
//! proxy rejects (MX502) is reported alone, because the proxy never gets to linking.

mod check;
pub mod inspect;
mod parse;
pub mod tables;

use std::fmt;

pub use check::{check, is_missing_http_callbacks, AbiProblem, AbiProblemKind};
pub use parse::{abi_markers, analyze, bad_magic};

/// A proxy-wasm ABI version (the `proxy_abi_version_X_Y_Z` marker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AbiVersion {
    V0_1_0,
    V0_2_0,
    V0_2_1,
}

impl AbiVersion {
    pub const ALL: [AbiVersion; 3] = [AbiVersion::V0_1_0, AbiVersion::V0_2_0, AbiVersion::V0_2_1];

    /// `0.1.0` → V0_1_0.
    pub fn parse(s: &str) -> Option<AbiVersion> {
        match s {
            "0.1.0" => Some(AbiVersion::V0_1_0),
            "0.2.0" => Some(AbiVersion::V0_2_0),
            "0.2.1" => Some(AbiVersion::V0_2_1),
            _ => None,
        }
    }

    /// The ABI a marker export name declares (`proxy_abi_version_0_2_1` → V0_2_1).
    pub fn from_marker(export: &str) -> Option<AbiVersion> {
        let v = export.strip_prefix(MARKER_PREFIX)?;
        AbiVersion::ALL.into_iter().find(|a| a.marker_suffix() == v)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AbiVersion::V0_1_0 => "0.1.0",
            AbiVersion::V0_2_0 => "0.2.0",
            AbiVersion::V0_2_1 => "0.2.1",
        }
    }

    fn marker_suffix(self) -> &'static str {
        match self {
            AbiVersion::V0_1_0 => "0_1_0",
            AbiVersion::V0_2_0 => "0_2_0",
            AbiVersion::V0_2_1 => "0_2_1",
        }
    }

    pub fn marker(self) -> String {
        format!("{MARKER_PREFIX}{}", self.marker_suffix())
    }
}

impl fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Prefix of every ABI marker export.
pub const MARKER_PREFIX: &str = "proxy_abi_version_";

/// A value type as far as signatures are concerned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    /// A reference type, by its text form (`funcref`, `externref`, …).
    Ref(String),
}

impl ValType {
    pub fn parse(s: &str) -> Option<ValType> {
        Some(match s {
            "i32" => ValType::I32,
            "i64" => ValType::I64,
            "f32" => ValType::F32,
            "f64" => ValType::F64,
            "v128" => ValType::V128,
            _ => return None,
        })
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(r) => f.write_str(r),
        }
    }
}

/// A function signature, shown as `(i32, i32) -> i32` or `() -> ()`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Sig {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl Sig {
    /// Parses the table form: `params` and `results` as `i32,i64` or `-` for none.
    pub fn from_table(params: &str, results: &str) -> Option<Sig> {
        fn list(s: &str) -> Option<Vec<ValType>> {
            if s == "-" || s.is_empty() {
                return Some(Vec::new());
            }
            s.split(',').map(|t| ValType::parse(t.trim())).collect()
        }
        Some(Sig {
            params: list(params)?,
            results: list(results)?,
        })
    }
}

impl fmt::Display for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |v: &[ValType]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.results.len() {
            0 => write!(f, "({}) -> ()", join(&self.params)),
            1 => write!(f, "({}) -> {}", join(&self.params), self.results[0]),
            _ => write!(f, "({}) -> ({})", join(&self.params), join(&self.results)),
        }
    }
}

/// What an import or export is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternKind {
    /// A function with its signature.
    Func(Sig),
    Memory {
        memory64: bool,
    },
    Table,
    Global,
    Tag,
}

impl ExternKind {
    pub fn name(&self) -> &'static str {
        match self {
            ExternKind::Func(_) => "function",
            ExternKind::Memory { .. } => "memory",
            ExternKind::Table => "table",
            ExternKind::Global => "global",
            ExternKind::Tag => "tag",
        }
    }

    pub fn sig(&self) -> Option<&Sig> {
        match self {
            ExternKind::Func(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ExternKind,
    /// Position among all imports (0-based).
    pub index: usize,
    /// Byte offset of the import entry in the module.
    pub offset: usize,
}

impl Import {
    /// `module.name`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }

    pub fn group(&self) -> ImportGroup {
        ImportGroup::of(&self.module, &self.name)
    }

    /// "import #3 at offset 0x1a2".
    pub fn position(&self) -> String {
        format!("import #{} at offset {:#x}", self.index, self.offset)
    }
}

/// How `inspect` groups imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ImportGroup {
    /// `env.proxy_*`.
    ProxyWasm,
    /// `wasi_snapshot_preview1.*`, `wasi_unstable.*`.
    Wasi,
    /// Everything else (Emscripten/AssemblyScript helpers, memories, tables, unknown modules).
    Other,
}

impl ImportGroup {
    pub fn of(module: &str, name: &str) -> ImportGroup {
        if is_wasi_module(module) {
            ImportGroup::Wasi
        } else if module == "env" && name.starts_with("proxy_") {
            ImportGroup::ProxyWasm
        } else {
            ImportGroup::Other
        }
    }
}

/// The module names under which the hosts register WASI functions.
pub fn is_wasi_module(module: &str) -> bool {
    module == "wasi_snapshot_preview1" || module == "wasi_unstable"
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub kind: ExternKind,
    /// Position among all exports (0-based).
    pub index: usize,
    pub offset: usize,
}

impl Export {
    pub fn position(&self) -> String {
        format!("export #{} at offset {:#x}", self.index, self.offset)
    }
}

/// Everything the ABI checks (and `inspect`) need to know about a module.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleInfo {
    /// Size of the module in bytes.
    pub size: usize,
    /// The ABI as proxy-wasm-cpp-host detects it: the first known marker in export order.
    pub abi: Option<AbiVersion>,
    /// Every function export starting with `proxy_abi_version_`, in export order (known or not).
    pub markers: Vec<String>,
    pub imports: Vec<Import>,
    pub exports: Vec<Export>,
    /// Start-up exports present, in the order `_initialize`, `_start`, `main`, `__main_void`,
    /// `__wasm_call_ctors`.
    pub entry_points: Vec<String>,
    /// Allocator exports present: `malloc` and/or `proxy_on_memory_allocate`.
    pub allocators: Vec<String>,
    /// The module has a linear memory the host can use (exported, or imported).
    pub memory: bool,
    /// The module declares a wasm `start` function (runs at instantiation, before any export).
    pub start_function: bool,
}

impl ModuleInfo {
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// Exported functions named `proxy_on_*`, `proxy_validate_configuration` or `envoy_on_*`.
    pub fn callbacks(&self) -> impl Iterator<Item = &Export> {
        self.exports.iter().filter(|e| {
            matches!(e.kind, ExternKind::Func(_))
                && (e.name.starts_with("proxy_on_")
                    || e.name == "proxy_validate_configuration"
                    || e.name.starts_with("envoy_on_"))
        })
    }

    /// The stream callbacks the module exports, by the stream they serve (`functions.tsv`
    /// notes `HTTP` / `TCP`): an HTTP filter needs the first, a network filter the second.
    pub fn stream_callbacks(&self) -> StreamCallbacks {
        let mut out = StreamCallbacks::default();
        for e in self.callbacks() {
            let class = tables::get()
                .functions
                .iter()
                // proxy_on_log also ends network streams: it tells nothing.
                .filter(|r| r.kind == tables::FnKind::Export && r.name == e.name)
                .filter(|r| r.name != "proxy_on_log")
                .find_map(|r| {
                    if r.notes.starts_with("HTTP") {
                        Some(true)
                    } else if r.notes.starts_with("TCP") {
                        Some(false)
                    } else {
                        None
                    }
                });
            match class {
                Some(true) if !out.http.contains(&e.name) => out.http.push(e.name.clone()),
                Some(false) if !out.network.contains(&e.name) => out.network.push(e.name.clone()),
                _ => {}
            }
        }
        out
    }

    /// Imports of one group, in module order.
    pub fn imports_in(&self, group: ImportGroup) -> impl Iterator<Item = &Import> {
        self.imports.iter().filter(move |i| i.group() == group)
    }
}

/// A module's exported stream callbacks ([`ModuleInfo::stream_callbacks`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamCallbacks {
    /// `proxy_on_request_headers`, `proxy_on_response_body`, `proxy_on_log`, …
    pub http: Vec<String>,
    /// `proxy_on_new_connection`, `proxy_on_downstream_data`, …
    pub network: Vec<String>,
}

/// Why bytes are not a valid WebAssembly module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidModule {
    pub message: String,
    /// Byte offset in the module where the problem was found.
    pub offset: usize,
}

impl fmt::Display for InvalidModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {:#x})", self.message, self.offset)
    }
}

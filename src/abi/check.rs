//! A [`ModuleInfo`] against the proxy of one mesh version: the typed [`AbiProblem`]s the
//! proxy would have with it. `rules::abi` turns them into findings (MX501–MX508).

use super::tables::{self, FnKind, FnRow, MeshRow, Tables, WasiStatus};
use super::{is_wasi_module, AbiVersion, Export, ExternKind, Import, ModuleInfo};
use crate::model::MeshVersion;

/// What the proxy of a mesh version has against a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AbiProblemKind {
    /// No `proxy_abi_version_*` export (MX501).
    MissingMarker,
    /// No marker the proxy accepts (MX502).
    MarkerNotAccepted,
    /// An import the proxy does not provide (MX503).
    ImportNotProvided,
    /// An import with another signature than the proxy's (MX504).
    ImportSignatureMismatch,
    /// An import of another ABI version than the module's marker (MX505).
    ImportFromOtherAbi,
    /// A WASI import the proxy lacks or stubs (MX506).
    WasiUnavailable,
    /// A required export is missing (MX507).
    RequiredExportMissing,
    /// A callback export with the wrong signature (MX508).
    CallbackSignatureMismatch,
}

/// One problem, worded for `subject` on one mesh version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiProblem {
    pub kind: AbiProblemKind,
    pub message: String,
    /// Empty when there is nothing to add.
    pub help: String,
    /// The module still loads and links; the problem only shows when the call is made.
    pub links: bool,
}

impl AbiProblem {
    /// Whether the proxy refuses to load or link the module.
    pub fn refuses(&self) -> bool {
        !self.links
    }
}

/// Everything one check run shares.
struct Ctx<'a> {
    t: &'static Tables,
    row: &'static MeshRow,
    version: MeshVersion,
    /// "mesh v2.1 (Istio 1.9, Envoy 1.17)", named in every finding.
    mesh: String,
    subject: &'a str,
    out: Vec<AbiProblem>,
}

impl Ctx<'_> {
    fn emit(
        &mut self,
        kind: AbiProblemKind,
        message: String,
        help: impl Into<String>,
    ) -> &mut AbiProblem {
        self.out.push(AbiProblem {
            kind,
            message,
            help: help.into(),
            links: false,
        });
        self.out.last_mut().expect("just pushed")
    }
}

/// Checks `info` against the proxy of `version`. See the module docs for the rules and the order.
pub fn check(info: &ModuleInfo, version: MeshVersion, subject: &str) -> Vec<AbiProblem> {
    let t = tables::get();
    let row = t.mesh(version);
    let mesh = if row.mesh == version {
        format!("mesh {}", row.describe())
    } else {
        format!("mesh {version} (proxy assumed as in {})", row.describe())
    };
    let mut cx = Ctx {
        t,
        row,
        version,
        mesh,
        subject,
        out: Vec::new(),
    };
    let Some(abi) = detect_abi(&mut cx, info) else {
        return cx.out;
    };
    for import in &info.imports {
        check_import(&mut cx, abi, import);
    }
    check_required_exports(&mut cx, info);
    for export in &info.exports {
        check_export(&mut cx, abi, export);
    }
    cx.out
}

/// MX501/MX502: the ABI the proxy will use, or `None` when it refuses the module.
fn detect_abi(cx: &mut Ctx, info: &ModuleInfo) -> Option<AbiVersion> {
    if info.markers.is_empty() {
        let msg = format!(
            "`{}` exports no `proxy_abi_version_*` marker, so the proxy of {} refuses to load it \
             (\"Missing or unknown Proxy-Wasm ABI version\")",
            cx.subject, cx.mesh
        );
        cx.emit(
            AbiProblemKind::MissingMarker,
            msg,
            "Is this a proxy-wasm module? proxy-wasm SDKs export the marker themselves (e.g. Rust \
             proxy-wasm exports `proxy_abi_version_0_2_1`); a hand-written module must export an \
             empty function named after the ABI version it implements.",
        );
        return None;
    }
    // The host takes the first marker it accepts in export order (envoy-wasm only looks for 0.1.0).
    let markers: Vec<AbiVersion> = info
        .markers
        .iter()
        .filter_map(|m| AbiVersion::from_marker(m))
        .collect();
    let accepted = cx.row.accepted_abi(&markers);
    if accepted.is_none() {
        let found = info
            .markers
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let accepts = cx
            .row
            .abi_markers
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let msg = format!(
            "`{}` declares ABI marker {found}, but the proxy of {} accepts only ABI {accepts}; it \
             refuses to load the module",
            cx.subject, cx.mesh
        );
        let help = if cx.row.abi_markers == [AbiVersion::V0_1_0] {
            "Mesh v2.0 runs the older envoy-wasm proxy, which only knows ABI 0.1.0. Upgrade the \
             control plane to v2.1 or later, or build the module with an SDK that targets ABI \
             0.1.0 (e.g. Rust proxy-wasm 0.1.x)."
        } else {
            "Build the module with an SDK release that targets ABI 0.1.0, 0.2.0 or 0.2.1."
        };
        cx.emit(AbiProblemKind::MarkerNotAccepted, msg, help);
    }
    accepted
}

/// The first mesh version (from the table) whose proxy satisfies `present`.
fn first_version(cx: &Ctx, present: impl Fn(MeshVersion) -> bool) -> Option<&'static MeshRow> {
    cx.t.mesh
        .iter()
        .find(|r| r.mesh > cx.version && present(r.mesh))
}

fn check_import(cx: &mut Ctx, abi: AbiVersion, import: &Import) {
    let sig = match &import.kind {
        ExternKind::Func(sig) => sig,
        // The host creates an imported memory or table (one each) for the module.
        ExternKind::Memory { .. } | ExternKind::Table => return,
        ExternKind::Global | ExternKind::Tag => {
            let msg = format!(
                "`{}` imports {} `{}` ({}), but the proxy of {} provides no {}s: it fails to link \
                 the module",
                cx.subject,
                import.kind.name(),
                import.qualified(),
                import.position(),
                cx.mesh,
                import.kind.name()
            );
            cx.emit(
                AbiProblemKind::ImportNotProvided,
                msg,
                "Build the module so that it defines this itself.",
            );
            return;
        }
    };
    if is_wasi_module(&import.module) {
        return check_wasi_import(cx, import, sig);
    }
    let rows: Vec<&FnRow> =
        cx.t.functions(FnKind::Import, &import.module, &import.name)
            .collect();
    let provided: Vec<&&FnRow> = rows.iter().filter(|r| r.since.is_some()).collect();
    if provided.is_empty() {
        let msg = format!(
            "`{}` imports `{}` {sig} ({}), which the proxy of {} does not provide: it fails to link \
             the module (\"missing import\")",
            cx.subject,
            import.qualified(),
            import.position(),
            cx.mesh
        );
        let help = rows
            .first()
            .map(|r| r.notes.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| {
                "Remove the dependency on this import; a proxy only provides the proxy-wasm host \
                 functions, a few Emscripten helpers and WASI."
                    .into()
            });
        cx.emit(AbiProblemKind::ImportNotProvided, msg, help);
        return;
    }
    let Some(row) = provided.iter().find(|r| r.abi.contains(&abi)) else {
        let abis: Vec<&str> = provided
            .iter()
            .flat_map(|r| r.abi.iter().map(|a| a.as_str()))
            .collect();
        let msg = format!(
            "`{}` imports `{}` ({}), which belongs to ABI {} but the module is marked {abi}; the \
             proxy of {} registers it only for modules marked {}, so linking fails",
            cx.subject,
            import.qualified(),
            import.position(),
            abis.join("/"),
            cx.mesh,
            abis.join("/")
        );
        let notes = provided[0].notes.clone();
        cx.emit(AbiProblemKind::ImportFromOtherAbi, msg, notes);
        return;
    };
    if !row.present_in(cx.version) {
        let later = first_version(cx, |v| row.present_in(v));
        let msg = format!(
            "`{}` imports `{}` {sig} ({}), which the proxy of {} does not provide yet{}: it fails to \
             link the module",
            cx.subject,
            import.qualified(),
            import.position(),
            cx.mesh,
            later.map(|r| format!(" (first in mesh {})", r.describe())).unwrap_or_default()
        );
        let notes = row.notes.clone();
        cx.emit(AbiProblemKind::ImportNotProvided, msg, notes);
        return;
    }
    if let Some(want) = &row.sig {
        if want != sig {
            let msg = format!(
                "`{}` imports `{}` as {sig} ({}), but the proxy of {} provides it as {want}: \
                 linking fails with a signature mismatch",
                cx.subject,
                import.qualified(),
                import.position(),
                cx.mesh
            );
            let notes = row.notes.clone();
            cx.emit(AbiProblemKind::ImportSignatureMismatch, msg, notes);
        }
    }
}

fn check_wasi_import(cx: &mut Ctx, import: &Import, sig: &super::Sig) {
    let row = cx.t.wasi(&import.name);
    match cx.t.wasi_status(&import.name, cx.version) {
        WasiStatus::Missing => {
            let later = first_version(cx, |v| {
                cx.t.wasi_status(&import.name, v) != WasiStatus::Missing
            });
            let msg = format!(
                "`{}` imports WASI function `{}` {sig} ({}), which the proxy of {} does not provide{}: \
                 it fails to link the module",
                cx.subject,
                import.qualified(),
                import.position(),
                cx.mesh,
                later.map(|r| format!(" (first in mesh {})", r.describe())).unwrap_or_default()
            );
            let help = match row {
                Some(r) if !r.notes.is_empty() => format!(
                    "{}. Proxies provide only a small WASI subset; avoid the library call that needs \
                     it (files, sockets, threads, timers) or target a newer mesh version.",
                    r.notes
                ),
                _ => "Proxies provide only a small WASI subset; avoid the library call that needs \
                      it (files, sockets, threads, timers) or target a newer mesh version."
                    .into(),
            };
            cx.emit(AbiProblemKind::WasiUnavailable, msg, help);
        }
        status => {
            let row = row.expect("a WASI function with a status has a row");
            if &row.sig != sig {
                let msg = format!(
                    "`{}` imports WASI function `{}` as {sig} ({}), but the proxy of {} provides it \
                     as {}: linking fails with a signature mismatch",
                    cx.subject,
                    import.qualified(),
                    import.position(),
                    cx.mesh,
                    row.sig
                );
                cx.emit(
                    AbiProblemKind::ImportSignatureMismatch,
                    msg,
                    row.notes.clone(),
                );
            } else if status == WasiStatus::Stub {
                let msg = format!(
                    "`{}` imports WASI function `{}` ({}), which the proxy of {} only stubs: {}",
                    cx.subject,
                    import.qualified(),
                    import.position(),
                    cx.mesh,
                    row.notes
                );
                cx.emit(
                    AbiProblemKind::WasiUnavailable,
                    msg,
                    "The module links, but the call cannot do what it asks (there are no files, \
                     stdin or sockets in the proxy). Make sure the code path is never taken.",
                )
                .links = true;
            }
        }
    }
}

/// Whether `p` is MX507's "no HTTP callback" problem: it only holds for modules installed as
/// HTTP filters (a WasmPlugin of `type: NETWORK` is not one).
pub fn is_missing_http_callbacks(p: &AbiProblem) -> bool {
    p.kind == AbiProblemKind::RequiredExportMissing && p.message.contains(NO_HTTP_CALLBACK)
}

const NO_HTTP_CALLBACK: &str = "is used as an HTTP filter but exports no HTTP callback";

/// MX507: memory, allocator, `proxy_on_context_create`, at least one HTTP callback.
fn check_required_exports(cx: &mut Ctx, info: &ModuleInfo) {
    if !info.memory {
        let msg = format!(
            "`{}` has no linear memory (exported or imported); the proxy of {} cannot exchange data \
             with it and refuses to load it",
            cx.subject, cx.mesh
        );
        cx.emit(
            AbiProblemKind::RequiredExportMissing,
            msg,
            "Export the module's memory (SDK builds do this by default).",
        );
    }
    if !cx
        .row
        .allocators
        .iter()
        .any(|a| info.allocators.contains(a))
    {
        let wanted = cx
            .row
            .allocators
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        let have = if info.allocators.is_empty() {
            String::new()
        } else {
            format!(
                " (it exports {}, which this proxy does not look up)",
                info.allocators
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let msg = format!(
            "`{}` exports no allocator the proxy of {} uses: it needs {wanted}{have} and fails to \
             load (\"Wasm module is missing malloc function\")",
            cx.subject, cx.mesh
        );
        cx.emit(
            AbiProblemKind::RequiredExportMissing,
            msg,
            "The host calls the allocator to hand data to the module. SDK builds export `malloc` \
             (Rust on wasm32-unknown-unknown, AssemblyScript, C++) or `proxy_on_memory_allocate` \
             (Rust on wasm32-wasi, TinyGo); the v2.0 proxy accepts only `malloc`.",
        );
    }
    let required: Vec<&FnRow> = cx
        .t
        .functions
        .iter()
        .filter(|r| r.kind == FnKind::Export && r.sig.is_some() && r.notes.starts_with("required"))
        .collect();
    for r in required {
        if info.export(&r.name).is_none() {
            let msg = format!(
                "`{}` does not export `{}` {}; the proxy of {} cannot create the plugin's contexts, \
                 so the plugin does nothing",
                cx.subject,
                r.name,
                r.sig.as_ref().expect("filtered"),
                cx.mesh
            );
            cx.emit(
                AbiProblemKind::RequiredExportMissing,
                msg,
                "Build the module with a proxy-wasm SDK, which exports it.",
            );
        }
    }
    let http: Vec<&str> =
        cx.t.functions
            .iter()
            .filter(|r| r.kind == FnKind::Export && r.notes.starts_with("HTTP"))
            .map(|r| r.name.as_str())
            .collect();
    if !info.callbacks().any(|e| http.contains(&e.name.as_str())) {
        let msg = format!(
            "`{}` {NO_HTTP_CALLBACK} (`proxy_on_request_*`, \
             `proxy_on_response_*`, `proxy_on_log`); on {} it would never see a request",
            cx.subject, cx.mesh
        );
        cx.emit(
            AbiProblemKind::RequiredExportMissing,
            msg,
            "ServiceMeshExtension and WasmPlugin modules run as HTTP filters. A TCP-only or \
             singleton module does not belong in one.",
        );
    }
}

/// MX508: an export the host looks up, with the wrong signature (or kind) for the ABI.
fn check_export(cx: &mut Ctx, abi: AbiVersion, export: &Export) {
    let rows: Vec<&FnRow> =
        cx.t.functions(FnKind::Export, "-", &export.name)
            .filter(|r| r.present_in(cx.version))
            .collect();
    let Some(row) = rows.iter().find(|r| r.abi.contains(&abi)) else {
        return; // not looked up for this ABI / proxy: harmless
    };
    let Some(want) = &row.sig else {
        return; // `memory`: any exported memory will do (MX507 covers its absence)
    };
    let problem = match &export.kind {
        ExternKind::Func(have) if have == want => return,
        ExternKind::Func(have) => format!("has signature {have}"),
        other => format!("is a {}", other.name()),
    };
    let other_abi = match &export.kind {
        ExternKind::Func(have) => rows
            .iter()
            .find(|r| r.sig.as_ref() == Some(have))
            .map(|r| {
                let v: Vec<&str> = r.abi.iter().map(|a| a.as_str()).collect();
                format!(" (that is the ABI {} form)", v.join("/"))
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    let msg = format!(
        "`{}` exports `{}` ({}), which {problem}{other_abi}, but for a module marked {abi} the \
         proxy of {} expects {want}; it fails to load the module (\"Bad function signature\")",
        cx.subject,
        export.name,
        export.position(),
        cx.mesh
    );
    let help = if other_abi.is_empty() {
        "Declare the export with the signature the ABI defines (SDKs do this for you).".to_string()
    } else {
        "The marker and the callbacks come from different ABI versions; build with one SDK \
         version so that both match."
            .to_string()
    };
    cx.emit(AbiProblemKind::CallbackSignatureMismatch, msg, help);
}

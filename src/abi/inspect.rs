//! The human-readable summary `meshext-lint inspect` prints for a module.

use super::tables;
use super::{ExternKind, ImportGroup, ModuleInfo};
use crate::model::MeshVersion;
use std::fmt::Write;

/// A multi-line summary: size, ABI, allocator, start-up sequence for `version`'s proxy, imports
/// grouped as proxy-wasm / WASI / other, exported callbacks.
pub fn render(info: &ModuleInfo, version: MeshVersion) -> String {
    let row = tables::get().mesh(version);
    let mut s = String::new();
    let _ = writeln!(s, "size:        {} bytes", info.size);
    let abi = match (&info.abi, info.markers.is_empty()) {
        (Some(a), _) => format!("{a} (`{}`)", a.marker()),
        (None, true) => "none (no proxy_abi_version_* export)".into(),
        (None, false) => format!("unknown ({})", info.markers.join(", ")),
    };
    let _ = writeln!(s, "ABI:         {abi}");
    if info.markers.len() > 1 {
        let _ = writeln!(
            s,
            "markers:     {} (the first accepted one wins)",
            info.markers.join(", ")
        );
    }
    let alloc = if info.allocators.is_empty() {
        "none".to_string()
    } else {
        info.allocators.join(", ")
    };
    let _ = writeln!(s, "allocator:   {alloc}");
    let _ = writeln!(s, "memory:      {}", if info.memory { "yes" } else { "no" });
    let entry = if info.entry_points.is_empty() {
        "none".to_string()
    } else {
        info.entry_points.join(", ")
    };
    let _ = writeln!(s, "entry:       {entry}");
    let seq = row.start_sequence(&info.entry_points);
    let _ = writeln!(
        s,
        "start-up on {}: {}",
        version,
        if seq.is_empty() {
            "nothing".into()
        } else {
            seq.join(" then ")
        }
    );
    for (group, title) in [
        (ImportGroup::ProxyWasm, "proxy-wasm imports"),
        (ImportGroup::Wasi, "WASI imports"),
        (ImportGroup::Other, "other imports"),
    ] {
        let items: Vec<_> = info.imports_in(group).collect();
        let _ = writeln!(s, "{title} ({}):", items.len());
        for i in items {
            let what = match &i.kind {
                ExternKind::Func(sig) => sig.to_string(),
                k => k.name().to_string(),
            };
            let _ = writeln!(s, "  {} {what}", i.qualified());
        }
    }
    let callbacks: Vec<_> = info.callbacks().collect();
    let _ = writeln!(s, "callbacks ({}):", callbacks.len());
    for e in callbacks {
        let sig = e.kind.sig().map(|s| s.to_string()).unwrap_or_default();
        let _ = writeln!(s, "  {} {sig}", e.name);
    }
    s
}

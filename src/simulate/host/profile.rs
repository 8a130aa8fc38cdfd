//! What the proxy of an Envoy version provides. The facts the static checks also judge (ABI
//! markers, imports per ABI version, allocators, start-up sequence) come from `rules/abi/*.tsv`
//! through [`crate::abi::tables`]; the behaviour switches they do not describe are one row per
//! Envoy version in `rules/abi/host_profiles.tsv`. Switches dated by proxy-wasm-cpp-host commits
//! compare against the row's cpp-host pin date (`cutoff`).

use crate::abi::tables::{self, Host, HostRow, MeshRow};
use crate::abi::AbiVersion;
use crate::model::MeshVersion;

/// Which host is emulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// The mesh version whose proxy this is; `None` = current upstream Envoy.
    pub mesh: Option<MeshVersion>,
    /// The `rules/abi` row whose facts the host follows (imports, markers, allocators,
    /// start-up); `None` = current upstream Envoy (the newest row and the `latest` WASI column).
    pub facts: Option<MeshVersion>,
    /// The `host_profiles.tsv` row: behaviour switches of this Envoy version.
    pub host: &'static HostRow,
}

impl Profile {
    /// The proxy of an OpenShift Service Mesh version: v2.0 runs the envoy-wasm fork
    /// (Envoy 1.14), v2.1 Envoy 1.17, v2.2 1.20, … v2.6 1.28 (`mesh_versions.tsv`).
    pub fn for_mesh(v: MeshVersion) -> Profile {
        let t = tables::get();
        let host = t
            .hosts
            .iter()
            .rev()
            .find(|h| h.mesh.is_some_and(|m| m <= v))
            .unwrap_or(&t.hosts[0]);
        Profile {
            mesh: Some(v),
            facts: Some(t.mesh(v).mesh),
            host,
        }
    }

    /// Current upstream Envoy: every import, newest semantics.
    pub fn latest() -> Profile {
        let host = tables::get()
            .hosts
            .last()
            .expect("host_profiles.tsv has rows");
        Profile {
            mesh: None,
            facts: None,
            host,
        }
    }

    /// The profile of an Envoy version of `host_profiles.tsv` ("1.24", "current").
    pub fn for_envoy(envoy: &str) -> Option<Profile> {
        let h = tables::get().hosts.iter().find(|h| h.envoy == envoy)?;
        Some(match h.mesh {
            Some(m) => Profile::for_mesh(m),
            None => Profile::latest(),
        })
    }

    /// The Envoy versions with a profile, oldest first.
    pub fn envoy_versions() -> Vec<&'static str> {
        tables::get()
            .hosts
            .iter()
            .map(|h| h.envoy.as_str())
            .collect()
    }

    fn envoy_wasm(&self) -> bool {
        self.host.host == Host::EnvoyWasm
    }

    fn since(&self, date: &str) -> bool {
        date <= self.host.cutoff.as_str()
    }

    /// The `mesh_versions.tsv` row the host follows (current Envoy: the newest row).
    pub fn row(&self) -> &'static MeshRow {
        let t = tables::get();
        match self.facts {
            Some(v) => t.mesh(v),
            None => t.mesh.last().expect("mesh_versions.tsv has rows"),
        }
    }

    /// Whether the host registers import `module.name` for a module marked `abi`.
    pub fn has_import(&self, module: &str, name: &str, abi: AbiVersion) -> bool {
        tables::get().host_provides(module, name, abi, self.facts)
    }

    /// The ABI the host runs a module with these markers (export order) as; `None` = refused.
    pub fn accepted_abi(&self, markers: &[AbiVersion]) -> Option<AbiVersion> {
        self.row().accepted_abi(markers)
    }

    /// `__main_void()` after `_initialize` when there is no `main` (cpp-host #500); newer than
    /// every proxy in the tables, so it is a behaviour switch of current Envoy only.
    pub fn main_void(&self) -> bool {
        !self.envoy_wasm() && self.since("2026-03-01")
    }

    /// WASI monotonic clock (cpp-host #156, May 2021); before it only realtime.
    pub fn monotonic_clock(&self) -> bool {
        self.since("2021-05-06")
    }

    /// `environ_get` serves the VM's configured variables (cpp-host #126); before it, none.
    pub fn environ(&self) -> bool {
        self.since("2021-02-24")
    }

    /// A buffer read that yields no bytes (an empty buffer, or a range past its end) writes a
    /// null pointer and a zero size (cpp-host #303, August 2022, in Envoy from 1.24); before it,
    /// the host returned OK and left both out slots as they were.
    pub fn empty_read_writes_null(&self) -> bool {
        !self.envoy_wasm() && self.since("2022-08-04")
    }

    /// Header callbacks returning StopIteration become StopAllIterationAndWatermark (#95).
    pub fn stop_iteration_is_stop_all(&self) -> bool {
        !self.envoy_wasm()
    }

    /// A Wasm filter whose request callbacks never ran still gets `on_response_headers`
    /// (for a local reply sent by an earlier filter): the envoy-wasm host creates the
    /// context lazily there; Envoy 1.17+ (`http_request_started_` / `in_vm_context_created_`
    /// checks in `encodeHeaders`) skips it.
    pub fn response_without_request(&self) -> bool {
        self.envoy_wasm()
    }

    /// A callback trap sends a 503 `wasm_fail_stream` local reply (Envoy ≥ 1.20 `failStream`);
    /// older proxies reset the stream.
    pub fn fail_with_local_reply(&self) -> bool {
        !self.envoy_wasm() && self.since("2021-06-01")
    }

    /// Order of the stream tail: envoy-wasm ran `on_done` (filter destroy) before the access
    /// log (`on_log`, `on_delete`); Envoy 1.17+ logs first.
    pub fn done_before_log(&self) -> bool {
        self.envoy_wasm()
    }

    /// The access-log phase creates a missing stream context (`Context::log` in Envoy 1.17+).
    pub fn log_creates_context(&self) -> bool {
        !self.envoy_wasm()
    }

    /// Top-level `node`, `cluster_name`, … properties exist (removed in Envoy 1.33).
    pub fn legacy_properties(&self) -> bool {
        self.host.legacy_properties
    }

    /// Some `xds.*` attribute exists (Envoy 1.24.2+ / 1.25+, envoyproxy/envoy PR #24302).
    pub fn xds_properties(&self) -> bool {
        !self.host.xds_properties.is_empty()
    }

    /// Whether `xds.<name>` exists on this Envoy (`xds_props` of `host_profiles.tsv`).
    pub fn xds_attribute(&self, name: &str) -> bool {
        self.host.xds_properties.iter().any(|a| a == name)
    }

    /// While a filter buffers a body, the current chunk joins the buffer before the body
    /// callback runs (Envoy PR #36411); before, the callback saw only the earlier chunks.
    pub fn body_chunk_before_callback(&self) -> bool {
        self.host.body_chunk_first
    }

    /// Whether `proxy_call_foreign_function` answers `name` (else NOT_FOUND).
    pub fn has_foreign(&self, name: &str) -> bool {
        self.host.foreign.iter().any(|f| f == name)
    }

    /// `uncompress` grows its buffer only on `Z_MEM_ERROR` (a bug of older Envoy: output larger
    /// than twice the input plus two fails); newer Envoy grows on `Z_BUF_ERROR`.
    pub fn uncompress_retry_on_mem_error(&self) -> bool {
        self.host.uncompress_retry_on_mem_error
    }

    /// How `expr_evaluate` encodes results and reports errors (`cel_*` columns).
    pub fn cel_encoding(&self) -> crate::simulate::cel::Encoding {
        crate::simulate::cel::Encoding {
            struct_composites: self.host.cel_struct_composites,
            null_empty: self.host.cel_null_empty,
        }
    }

    /// `expr_evaluate` of a CEL error value: SERIALIZATION_FAILURE before envoy-wasm PR #511.
    pub fn cel_error_is_serialization_failure(&self) -> bool {
        self.host.cel_error_is_serialization_failure
    }

    pub fn label(&self) -> String {
        match self.mesh {
            Some(v) => format!("OpenShift Service Mesh {v} proxy"),
            None => "current Envoy".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: &str = "wasi_snapshot_preview1";

    #[test]
    fn imports_per_version() {
        let v20 = Profile::for_mesh(MeshVersion::V2_0);
        let v21 = Profile::for_mesh(MeshVersion::V2_1);
        let v22 = Profile::for_mesh(MeshVersion::V2_2);
        let latest = Profile::latest();
        let a = AbiVersion::V0_1_0;
        assert!(v20.has_import(W, "fd_write", a) && !v20.has_import(W, "clock_time_get", a));
        assert!(v21.has_import(W, "clock_time_get", a) && v21.has_import(W, "random_get", a));
        assert!(!v22.has_import(W, "path_open", a) && !v22.has_import(W, "poll_oneoff", a));
        assert!(latest.has_import(W, "poll_oneoff", a) && latest.has_import(W, "fd_tell", a));
        assert!(!v22.has_import(W, "fd_tell", a));
        assert!(v20.accepted_abi(&[AbiVersion::V0_2_1]).is_none());
        assert_eq!(
            v21.accepted_abi(&[AbiVersion::V0_2_1]),
            Some(AbiVersion::V0_2_1)
        );
        // envoy-wasm takes the 0.1.0 marker even when another comes first.
        assert_eq!(
            v20.accepted_abi(&[AbiVersion::V0_2_0, AbiVersion::V0_1_0]),
            Some(AbiVersion::V0_1_0)
        );
        assert!(v21.has_import("env", "proxy_get_log_level", AbiVersion::V0_2_1));
        assert!(!v21.has_import("env", "proxy_get_log_level", AbiVersion::V0_2_0));
        assert!(!v22.has_import("env", "emscripten_notify_memory_growth", a));
        assert!(latest.has_import("env", "emscripten_notify_memory_growth", a));
        assert_eq!(v21.row().start.len(), 3);
        assert_eq!(v22.row().start[0], ["_initialize", "main"]);
    }

    #[test]
    fn each_mesh_version_runs_its_envoy() {
        let envoy = |v| Profile::for_mesh(v).host.envoy.as_str();
        assert_eq!(envoy(MeshVersion::V2_0), "1.14");
        assert_eq!(envoy(MeshVersion::V2_1), "1.17");
        assert_eq!(envoy(MeshVersion::V2_2), "1.20");
        assert_eq!(Profile::latest().host.envoy, "current");
        // Mesh versions keep the pre-1.33 properties; `xds.*` from Envoy 1.24 on.
        assert!(Profile::for_mesh(MeshVersion::V2_2).legacy_properties());
        assert!(!Profile::for_mesh(MeshVersion::V2_2).xds_properties());
        let v124 = Profile::for_envoy("1.24").unwrap();
        assert!(v124.xds_attribute("cluster_name") && !v124.xds_attribute("node"));
        assert!(Profile::latest().xds_properties() && !Profile::latest().legacy_properties());
        assert!(Profile::latest().body_chunk_before_callback());
        assert!(!Profile::for_envoy("1.28")
            .unwrap()
            .body_chunk_before_callback());
        assert!(Profile::for_envoy("1.28")
            .unwrap()
            .has_foreign("set_envoy_filter_state"));
        assert!(!Profile::for_envoy("1.26")
            .unwrap()
            .has_foreign("set_envoy_filter_state"));
        // Envoy's CEL functions in every version (Linux builds define WASM_USE_CEL_PARSER).
        for e in Profile::envoy_versions() {
            let p = Profile::for_envoy(e).unwrap();
            for f in ["expr_create", "expr_evaluate", "expr_delete"] {
                assert!(p.has_foreign(f), "Envoy {e}: {f}");
            }
        }
    }
}

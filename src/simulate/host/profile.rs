//! What the proxy of a mesh version provides: ABI markers, WASI imports, start-up sequence
//! and a few behaviour switches. Dates are the proxy-wasm-cpp-host commits that introduced
//! each import; a proxy has an import when its cpp-host pin is at least that new.

use crate::model::MeshVersion;

/// Which host is emulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// `None` = the newest Envoy behaviour (every import cpp-host knows).
    pub mesh: Option<MeshVersion>,
    /// cpp-host pin date (`YYYY-MM-DD`); imports newer than this are missing.
    pub cutoff: &'static str,
    /// The in-tree envoy-wasm host (OSSM 2.0) instead of cpp-host.
    pub envoy_wasm: bool,
}

/// WASI (and `env` helper) imports: (name, first cpp-host date, in the envoy-wasm host).
pub const WASI_AVAILABILITY: &[(&str, &str, bool)] = &[
    ("fd_write", "2020-02-10", true),
    ("fd_read", "2020-04-07", true),
    ("fd_seek", "2020-02-10", true),
    ("fd_close", "2020-02-10", true),
    ("fd_fdstat_get", "2020-04-07", true),
    ("environ_get", "2020-02-10", true),
    ("environ_sizes_get", "2020-02-10", true),
    ("args_get", "2020-02-10", true),
    ("args_sizes_get", "2020-02-10", true),
    ("proc_exit", "2020-02-10", true),
    ("clock_time_get", "2020-10-13", false),
    ("random_get", "2020-10-15", false),
    ("path_open", "2021-11-18", false),
    ("fd_prestat_get", "2021-11-18", false),
    ("fd_prestat_dir_name", "2021-11-18", false),
    ("emscripten_notify_memory_growth", "2022-06-15", false),
    ("pthread_equal", "2020-02-10", true),
    ("fd_fdstat_set_flags", "2024-12-19", false),
    ("sched_yield", "2024-12-19", false),
    ("poll_oneoff", "2024-12-19", false),
];

/// Everything else in cpp-host's full WASI stub set (2026-04, #533).
pub const LATE_WASI_DATE: &str = "2026-04-06";

impl Profile {
    /// The proxy of an OpenShift Service Mesh version. v2.0 runs the envoy-wasm fork
    /// (Envoy 1.14), v2.1 Envoy 1.17 (cpp-host envoy-release/v1.17), v2.2 Envoy 1.20.
    pub fn for_mesh(v: MeshVersion) -> Profile {
        let (cutoff, envoy_wasm) = if v <= MeshVersion::V2_0 {
            ("2020-06-30", true)
        } else if v == MeshVersion::V2_1 {
            ("2020-11-19", false)
        } else if v == MeshVersion::V2_2 {
            ("2021-10-01", false)
        } else {
            // v2.3+ do not run ServiceMeshExtensions; simulate the newest behaviour.
            return Profile::latest();
        };
        Profile {
            mesh: Some(v),
            cutoff,
            envoy_wasm,
        }
    }

    /// Current upstream Envoy: every import, newest semantics.
    pub fn latest() -> Profile {
        Profile {
            mesh: None,
            cutoff: "9999-12-31",
            envoy_wasm: false,
        }
    }

    fn since(&self, date: &str) -> bool {
        date <= self.cutoff
    }

    /// Whether the WASI / `env` helper import `name` is registered.
    pub fn has_wasi(&self, name: &str) -> bool {
        match WASI_AVAILABILITY.iter().find(|(n, _, _)| *n == name) {
            Some((_, date, intree)) => {
                if self.envoy_wasm {
                    *intree
                } else {
                    self.since(date)
                }
            }
            None => !self.envoy_wasm && self.since(LATE_WASI_DATE),
        }
    }

    /// ABI markers the proxy accepts.
    pub fn accepts(&self, abi: super::Abi) -> bool {
        !self.envoy_wasm || abi == super::Abi::V0_1_0
    }

    /// `proxy_on_memory_allocate` as an allocator fallback (cpp-host #80, Oct 2020).
    pub fn allocator_fallback(&self) -> bool {
        !self.envoy_wasm && self.since("2020-10-20")
    }

    /// `_initialize` as the start function (cpp-host #72, Oct 2020).
    pub fn reactor_start(&self) -> bool {
        !self.envoy_wasm && self.since("2020-10-16")
    }

    /// `main(0, 0)` after `_initialize`, no more `__wasm_call_ctors` (cpp-host #133, Mar 2021).
    pub fn main_after_initialize(&self) -> bool {
        !self.envoy_wasm && self.since("2021-03-02")
    }

    /// `__main_void()` after `_initialize` when there is no `main` (cpp-host #500).
    pub fn main_void(&self) -> bool {
        !self.envoy_wasm && self.since("2026-03-01")
    }

    /// WASI monotonic clock (cpp-host #156, May 2021); before it only realtime.
    pub fn monotonic_clock(&self) -> bool {
        self.since("2021-05-06")
    }

    /// `environ_get` serves configured variables (cpp-host #126); the simulator has none
    /// configured either way, so this only documents the switch.
    pub fn environ(&self) -> bool {
        self.since("2021-02-24")
    }

    /// Header callbacks returning StopIteration become StopAllIterationAndWatermark (#95).
    pub fn stop_iteration_is_stop_all(&self) -> bool {
        !self.envoy_wasm
    }

    /// A Wasm filter whose request callbacks never ran still gets `on_response_headers`
    /// (for a local reply sent by an earlier filter): the envoy-wasm host creates the
    /// context lazily there; Envoy 1.17+ (`http_request_started_` / `in_vm_context_created_`
    /// checks in `encodeHeaders`) skips it.
    pub fn response_without_request(&self) -> bool {
        self.envoy_wasm
    }

    /// A callback trap sends a 503 `wasm_fail_stream` local reply (Envoy ≥ 1.20 `failStream`);
    /// older proxies reset the stream.
    pub fn fail_with_local_reply(&self) -> bool {
        !self.envoy_wasm && self.since("2021-06-01")
    }

    /// Order of the stream tail: envoy-wasm ran `on_done` (filter destroy) before the access
    /// log (`on_log`, `on_delete`); Envoy 1.17+ logs first.
    pub fn done_before_log(&self) -> bool {
        self.envoy_wasm
    }

    /// The access-log phase creates a missing stream context (`Context::log` in Envoy 1.17+).
    pub fn log_creates_context(&self) -> bool {
        !self.envoy_wasm
    }

    /// Top-level `node`, `cluster_name`, … properties exist (removed in Envoy 1.33).
    pub fn legacy_properties(&self) -> bool {
        self.mesh.is_some()
    }

    /// `xds.*` properties exist (Envoy ≈ 1.29+).
    pub fn xds_properties(&self) -> bool {
        self.mesh.is_none()
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

    #[test]
    fn imports_per_version() {
        let v20 = Profile::for_mesh(MeshVersion::V2_0);
        let v21 = Profile::for_mesh(MeshVersion::V2_1);
        let v22 = Profile::for_mesh(MeshVersion::V2_2);
        let latest = Profile::latest();
        assert!(v20.has_wasi("fd_write") && !v20.has_wasi("clock_time_get"));
        assert!(v21.has_wasi("clock_time_get") && v21.has_wasi("random_get"));
        assert!(!v22.has_wasi("path_open") && !v22.has_wasi("poll_oneoff"));
        assert!(latest.has_wasi("poll_oneoff") && latest.has_wasi("fd_tell"));
        assert!(!v22.has_wasi("fd_tell"));
        assert!(!v20.accepts(super::super::Abi::V0_2_1) && v21.accepts(super::super::Abi::V0_2_1));
        assert!(!v21.main_after_initialize() && v22.main_after_initialize());
    }
}

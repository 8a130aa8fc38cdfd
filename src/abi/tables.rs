//! The ABI tables from `rules/abi/*.tsv`, parsed once.
//!
//! The tables are embedded data checked by tests, so a malformed row is a build bug and panics
//! with the file and line (like the rule catalogue).

use super::{AbiVersion, Sig};
use crate::model::MeshVersion;
use std::sync::OnceLock;

/// Which Wasm host implementation a proxy embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// The in-tree host of the envoy-wasm fork (Istio 1.6, OSSM 2.0).
    EnvoyWasm,
    /// proxy-wasm-cpp-host (Envoy ≥ 1.17).
    CppHost,
}

/// One row of `mesh_versions.tsv`.
#[derive(Debug, Clone)]
pub struct MeshRow {
    pub mesh: MeshVersion,
    pub istio: String,
    pub envoy: String,
    pub host: Host,
    pub abi_markers: Vec<AbiVersion>,
    /// Accepted allocator exports in lookup order.
    pub allocators: Vec<String>,
    /// Start-up alternatives in order of preference; each is a sequence called in order.
    pub start: Vec<Vec<String>>,
}

impl MeshRow {
    /// "v2.1 (Istio 1.9, Envoy 1.17)".
    pub fn describe(&self) -> String {
        format!("{} (Istio {}, Envoy {})", self.mesh, self.istio, self.envoy)
    }

    pub fn host_name(&self) -> &'static str {
        match self.host {
            Host::EnvoyWasm => "envoy-wasm host",
            Host::CppHost => "proxy-wasm-cpp-host",
        }
    }

    /// The ABI the host runs a module with these markers (export order) as: the first marker it
    /// accepts; `None` = it refuses to load the module.
    pub fn accepted_abi(&self, markers: &[AbiVersion]) -> Option<AbiVersion> {
        markers
            .iter()
            .copied()
            .find(|a| self.abi_markers.contains(a))
    }

    /// The start-up sequence this proxy runs for a module with these entry points.
    pub fn start_sequence(&self, entry_points: &[String]) -> Vec<String> {
        for alt in &self.start {
            if entry_points.contains(&alt[0]) {
                return alt
                    .iter()
                    .filter(|e| entry_points.contains(e))
                    .cloned()
                    .collect();
            }
        }
        Vec::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FnKind {
    Import,
    Export,
}

/// One row of `functions.tsv`.
#[derive(Debug, Clone)]
pub struct FnRow {
    pub kind: FnKind,
    pub module: String,
    pub name: String,
    /// `None` for the `memory` export (not a function).
    pub sig: Option<Sig>,
    pub abi: Vec<AbiVersion>,
    /// First mesh version whose proxy has it; `None` = never.
    pub since: Option<MeshVersion>,
    pub until: Option<MeshVersion>,
    pub notes: String,
}

impl FnRow {
    /// Whether the proxy of `mesh` has this function/looks up this export (any ABI).
    pub fn present_in(&self, mesh: MeshVersion) -> bool {
        self.since.is_some_and(|s| s <= mesh) && self.until.is_none_or(|u| mesh <= u)
    }
}

/// A WASI function's status in one proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasiStatus {
    Ok,
    Stub,
    Missing,
}

/// One row of `wasi.tsv`.
#[derive(Debug, Clone)]
pub struct WasiRow {
    pub name: String,
    pub sig: Sig,
    /// Status per column of [`Tables::wasi_versions`].
    pub status: Vec<WasiStatus>,
    /// Status in current upstream Envoy (the `latest` column; only the simulator reads it).
    pub latest: WasiStatus,
    pub notes: String,
}

pub struct Tables {
    pub mesh: Vec<MeshRow>,
    /// `host_profiles.tsv`: one simulated host per Envoy version, oldest first.
    pub hosts: Vec<HostRow>,
    pub functions: Vec<FnRow>,
    pub wasi_versions: Vec<MeshVersion>,
    pub wasi: Vec<WasiRow>,
}

impl Tables {
    /// The row for `mesh`; versions outside the table use the nearest row.
    pub fn mesh(&self, mesh: MeshVersion) -> &MeshRow {
        self.mesh
            .iter()
            .rev()
            .find(|r| r.mesh <= mesh)
            .unwrap_or(&self.mesh[0])
    }

    /// Rows of `functions.tsv` for `module.name` of the given kind.
    pub fn functions<'a>(
        &'a self,
        kind: FnKind,
        module: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a FnRow> + 'a {
        self.functions
            .iter()
            .filter(move |r| r.kind == kind && r.module == module && r.name == name)
    }

    pub fn wasi(&self, name: &str) -> Option<&WasiRow> {
        self.wasi.iter().find(|r| r.name == name)
    }

    /// A WASI function's status in the proxy of `mesh` (missing when unknown).
    pub fn wasi_status(&self, name: &str, mesh: MeshVersion) -> WasiStatus {
        let Some(row) = self.wasi(name) else {
            return WasiStatus::Missing;
        };
        let col = self
            .wasi_versions
            .iter()
            .rposition(|v| *v <= mesh)
            .unwrap_or(0);
        row.status[col]
    }

    /// What the host registers for a module marked `abi`, in the proxy of `mesh` (`None` =
    /// current upstream Envoy): whether import `module.name` links. This is the simulator's
    /// linker's only source of import availability.
    pub(crate) fn host_provides(
        &self,
        module: &str,
        name: &str,
        abi: AbiVersion,
        mesh: Option<MeshVersion>,
    ) -> bool {
        if super::is_wasi_module(module) {
            let status = match mesh {
                Some(v) => self.wasi_status(name, v),
                None => self.wasi(name).map_or(WasiStatus::Missing, |r| r.latest),
            };
            return status != WasiStatus::Missing;
        }
        self.functions(FnKind::Import, module, name).any(|r| {
            r.abi.contains(&abi)
                && match mesh {
                    Some(v) => r.present_in(v),
                    None => r.since.is_some(),
                }
        })
    }

    /// Every import the host registers for `abi` in the proxy of `mesh` (`None` = current
    /// Envoy), WASI under `wasi_snapshot_preview1` only: (module, name).
    pub fn host_imports(&self, abi: AbiVersion, mesh: Option<MeshVersion>) -> Vec<(&str, &str)> {
        let wasi = self.wasi.iter().map(|r| (WASI_MODULE, r.name.as_str()));
        let env = self
            .functions
            .iter()
            .filter(|r| r.kind == FnKind::Import)
            .map(|r| (r.module.as_str(), r.name.as_str()));
        let mut out: Vec<_> = wasi
            .chain(env)
            .filter(|(m, n)| self.host_provides(m, n, abi, mesh))
            .collect();
        out.dedup();
        out
    }
}

/// The WASI module name the host registers (and aliases as `wasi_unstable`).
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// The parsed tables.
pub fn get() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let (wasi_versions, wasi) = parse_wasi();
        Tables {
            mesh: parse_mesh(),
            hosts: parse_hosts(),
            functions: parse_functions(),
            wasi_versions,
            wasi,
        }
    })
}

/// Data rows (not comments) of a table: (line number, header, cells).
fn rows(path: &str) -> (Vec<String>, Vec<(usize, Vec<&'static str>)>) {
    let text = crate::data::file(path).unwrap_or_else(|| panic!("rules/{path} is not embedded"));
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap_or_else(|| panic!("rules/{path}: no header"))
        .1
        .split('\t')
        .map(str::to_string)
        .collect();
    let data = lines
        .map(|(n, l)| {
            let cells: Vec<&str> = l.split('\t').collect();
            if cells.len() != header.len() {
                panic!(
                    "rules/{path}:{}: {} cells, header has {}",
                    n + 1,
                    cells.len(),
                    header.len()
                );
            }
            (n + 1, cells)
        })
        .collect();
    (header, data)
}

fn mesh_version(path: &str, line: usize, s: &str) -> MeshVersion {
    MeshVersion::parse(s).unwrap_or_else(|| panic!("rules/{path}:{line}: bad mesh version {s:?}"))
}

fn abi_list(path: &str, line: usize, s: &str) -> Vec<AbiVersion> {
    if s == "all" {
        return AbiVersion::ALL.to_vec();
    }
    s.split(',')
        .map(|v| {
            AbiVersion::parse(v).unwrap_or_else(|| panic!("rules/{path}:{line}: bad ABI {v:?}"))
        })
        .collect()
}

fn sig(path: &str, line: usize, params: &str, results: &str) -> Sig {
    Sig::from_table(params, results)
        .unwrap_or_else(|| panic!("rules/{path}:{line}: bad signature {params:?} {results:?}"))
}

fn parse_mesh() -> Vec<MeshRow> {
    const P: &str = "abi/mesh_versions.tsv";
    let (_, data) = rows(P);
    let list = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
    let mut out: Vec<MeshRow> = data
        .into_iter()
        .map(|(n, c)| MeshRow {
            mesh: mesh_version(P, n, c[0]),
            istio: c[1].to_string(),
            envoy: c[2].to_string(),
            host: match c[3] {
                "envoy-wasm" => Host::EnvoyWasm,
                "cpp-host" => Host::CppHost,
                h => panic!("rules/{P}:{n}: unknown host {h:?}"),
            },
            abi_markers: abi_list(P, n, c[4]),
            allocators: list(c[5]),
            start: c[6]
                .split('|')
                .map(|alt| alt.split('+').map(str::to_string).collect())
                .collect(),
        })
        .collect();
    assert!(!out.is_empty(), "rules/{P}: no rows");
    out.sort_by_key(|r| r.mesh);
    out
}

/// One row of `host_profiles.tsv`: the behaviour switches of one Envoy version's Wasm host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRow {
    /// "1.20", or "current".
    pub envoy: String,
    pub mesh: Option<MeshVersion>,
    pub host: Host,
    /// cpp-host pin date, `YYYY-MM-DD`.
    pub cutoff: String,
    /// While buffering, the current chunk joins the buffer before the body callback.
    pub body_chunk_first: bool,
    /// Foreign function names the host answers.
    pub foreign: Vec<String>,
    /// `uncompress` retries on `Z_MEM_ERROR` (older Envoy) instead of `Z_BUF_ERROR`.
    pub uncompress_retry_on_mem_error: bool,
    pub legacy_properties: bool,
    /// `expr_evaluate` of an expression whose value is a CEL error: SERIALIZATION_FAILURE
    /// (true, before envoy-wasm PR #511) or INTERNAL_FAILURE.
    pub cel_error_is_serialization_failure: bool,
    /// Map and list results as `google.protobuf.Struct` / `ListValue` (true) or pairs.
    pub cel_struct_composites: bool,
    /// A `null` result is OK with no bytes (true) or SERIALIZATION_FAILURE.
    pub cel_null_empty: bool,
    /// The `xds.*` attributes served (`xds_props`), e.g. `cluster_name`.
    pub xds_properties: Vec<String>,
}

fn parse_hosts() -> Vec<HostRow> {
    const P: &str = "abi/host_profiles.tsv";
    let (_, data) = rows(P);
    let flag = |n: usize, s: &str| match s {
        "yes" => true,
        "no" => false,
        o => panic!("rules/{P}:{n}: expected yes/no, got {o:?}"),
    };
    let out: Vec<HostRow> = data
        .into_iter()
        .map(|(n, c)| HostRow {
            envoy: c[0].to_string(),
            mesh: (c[1] != "-").then(|| mesh_version(P, n, c[1])),
            host: match c[2] {
                "envoy-wasm" => Host::EnvoyWasm,
                "cpp-host" => Host::CppHost,
                h => panic!("rules/{P}:{n}: unknown host {h:?}"),
            },
            cutoff: c[3].to_string(),
            body_chunk_first: flag(n, c[4]),
            foreign: c[5].split(',').map(str::to_string).collect(),
            uncompress_retry_on_mem_error: match c[6] {
                "Z_MEM_ERROR" => true,
                "Z_BUF_ERROR" => false,
                o => panic!("rules/{P}:{n}: unknown zlib status {o:?}"),
            },
            legacy_properties: flag(n, c[7]),
            cel_error_is_serialization_failure: match c[8] {
                "SERIALIZATION_FAILURE" => true,
                "INTERNAL_FAILURE" => false,
                o => panic!("rules/{P}:{n}: unknown cel_error {o:?}"),
            },
            cel_struct_composites: match c[9] {
                "struct" => true,
                "pairs" => false,
                o => panic!("rules/{P}:{n}: unknown cel_composites {o:?}"),
            },
            cel_null_empty: match c[10] {
                "empty" => true,
                "SERIALIZATION_FAILURE" => false,
                o => panic!("rules/{P}:{n}: unknown cel_null {o:?}"),
            },
            xds_properties: match c[11] {
                "-" => Vec::new(),
                list => list.split(',').map(str::to_string).collect(),
            },
        })
        .collect();
    assert!(
        out.last().is_some_and(|r| r.mesh.is_none()),
        "rules/{P}: the last row is current Envoy"
    );
    out
}

fn parse_functions() -> Vec<FnRow> {
    const P: &str = "abi/functions.tsv";
    let (_, data) = rows(P);
    data.into_iter()
        .map(|(n, c)| {
            let kind = match c[0] {
                "import" => FnKind::Import,
                "export" => FnKind::Export,
                k => panic!("rules/{P}:{n}: unknown kind {k:?}"),
            };
            let sig = (c[3] != "memory").then(|| sig(P, n, c[3], c[4]));
            FnRow {
                kind,
                module: c[1].to_string(),
                name: c[2].to_string(),
                sig,
                abi: abi_list(P, n, c[5]),
                since: (c[6] != "never").then(|| mesh_version(P, n, c[6])),
                until: (c[7] != "-").then(|| mesh_version(P, n, c[7])),
                notes: c[8].to_string(),
            }
        })
        .collect()
}

fn parse_wasi() -> (Vec<MeshVersion>, Vec<WasiRow>) {
    const P: &str = "abi/wasi.tsv";
    let (header, data) = rows(P);
    // Columns: name, params, results, one per mesh version, latest, notes.
    let latest = header.len() - 2;
    assert_eq!(header[latest], "latest", "rules/{P}: no `latest` column");
    let versions: Vec<MeshVersion> = header[3..latest]
        .iter()
        .map(|h| mesh_version(P, 0, h))
        .collect();
    let status = |n: usize, s: &str| match s {
        "ok" => WasiStatus::Ok,
        "stub" => WasiStatus::Stub,
        "missing" => WasiStatus::Missing,
        s => panic!("rules/{P}:{n}: unknown status {s:?}"),
    };
    let rows = data
        .into_iter()
        .map(|(n, c)| WasiRow {
            name: c[0].to_string(),
            sig: sig(P, n, c[1], c[2]),
            status: c[3..latest].iter().map(|s| status(n, s)).collect(),
            latest: status(n, c[latest]),
            notes: c[c.len() - 1].to_string(),
        })
        .collect();
    (versions, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_and_are_consistent() {
        let t = get();
        assert_eq!(t.mesh(MeshVersion::V2_0).host, Host::EnvoyWasm);
        assert_eq!(
            t.mesh(MeshVersion::V2_0).abi_markers,
            vec![AbiVersion::V0_1_0]
        );
        for v in [MeshVersion::V2_1, MeshVersion::V2_2, MeshVersion::V2_3] {
            assert_eq!(t.mesh(v).abi_markers, AbiVersion::ALL.to_vec(), "{v}");
        }
        // Far-future versions fall back to the newest row.
        let future = MeshVersion { major: 2, minor: 9 };
        assert_eq!(t.mesh(future).mesh, t.mesh.last().unwrap().mesh);
        // Every import row has a function signature; no duplicate (module, name, abi).
        let mut seen = std::collections::HashSet::new();
        for r in &t.functions {
            if r.kind == FnKind::Import {
                assert!(r.sig.is_some(), "{}", r.name);
            }
            for a in &r.abi {
                assert!(
                    seen.insert((r.kind, r.module.clone(), r.name.clone(), *a)),
                    "duplicate row {} {a}",
                    r.name
                );
            }
        }
        assert_eq!(t.wasi_versions.len(), t.wasi[0].status.len());
        assert_eq!(t.wasi_status("fd_write", MeshVersion::V2_0), WasiStatus::Ok);
        assert_eq!(
            t.wasi_status("clock_time_get", MeshVersion::V2_0),
            WasiStatus::Missing
        );
        assert_eq!(
            t.wasi_status("clock_time_get", MeshVersion::V2_1),
            WasiStatus::Ok
        );
        assert_eq!(
            t.wasi_status("path_open", MeshVersion::V2_2),
            WasiStatus::Missing
        );
        assert_eq!(
            t.wasi_status("path_open", MeshVersion::V2_3),
            WasiStatus::Stub
        );
        assert_eq!(
            t.wasi_status("no_such_fn", MeshVersion::V2_3),
            WasiStatus::Missing
        );
    }
}

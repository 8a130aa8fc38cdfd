//! OpenShift Service Mesh versions, as written in `ServiceMeshControlPlane.spec.version`, and
//! the Istio releases they are built on (`rules/abi/istio_versions.tsv`).

use std::fmt;
use std::sync::OnceLock;

/// A mesh version `v<major>.<minor>`. Extensions behave differently on v2.0, v2.1, v2.2 and
/// v2.3+ (where ServiceMeshExtension is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MeshVersion {
    pub major: u8,
    pub minor: u8,
}

impl Default for MeshVersion {
    /// v2.1 is assumed when nothing says otherwise.
    fn default() -> Self {
        MeshVersion::V2_1
    }
}

impl MeshVersion {
    pub const V1_0: MeshVersion = MeshVersion { major: 1, minor: 0 };
    pub const V2_0: MeshVersion = MeshVersion { major: 2, minor: 0 };
    pub const V2_1: MeshVersion = MeshVersion { major: 2, minor: 1 };
    pub const V2_2: MeshVersion = MeshVersion { major: 2, minor: 2 };
    pub const V2_3: MeshVersion = MeshVersion { major: 2, minor: 3 };
    pub const V2_6: MeshVersion = MeshVersion { major: 2, minor: 6 };
    /// OSSM 3.0: upstream Istio managed by the Sail operator (no SMCP, no member roll).
    pub const V3_0: MeshVersion = MeshVersion { major: 3, minor: 0 };
    /// The versions whose proxies run ServiceMeshExtensions, oldest first.
    pub const WITH_SME: [MeshVersion; 3] = [Self::V2_0, Self::V2_1, Self::V2_2];
    /// Every version the tool knows about.
    pub const KNOWN: [&'static str; 12] = [
        "v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5", "v2.6", "v3.0", "v3.1", "v3.2", "v3.3",
        "v3.4",
    ];

    /// Parses `v2.1`, `2.1` or `v2.1.3` (patch ignored).
    pub fn parse(s: &str) -> Option<MeshVersion> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        if let Some(p) = parts.next() {
            p.parse::<u32>().ok()?;
        }
        if parts.next().is_some() {
            return None;
        }
        Some(MeshVersion { major, minor })
    }

    /// Whether this version's istiod applies ServiceMeshExtensions.
    pub fn has_sme(self) -> bool {
        self >= Self::V2_0 && self < Self::V2_3
    }

    /// OSSM 3.x: the Sail operator's `Istio` resource instead of an SMCP; membership by
    /// namespace labels / discovery selectors instead of a member roll.
    pub fn is_sail(self) -> bool {
        self >= Self::V3_0
    }

    /// Whether the tool knows this version (`KNOWN`).
    pub fn is_known(self) -> bool {
        Self::KNOWN.contains(&self.to_string().as_str())
    }

    /// The Istio release this version is built on (`None` for versions the table lacks).
    pub fn istio(self) -> Option<IstioVersion> {
        istio_rows()
            .iter()
            .find(|r| r.ossm == Some(self))
            .map(|r| r.istio)
    }
}

/// An upstream Istio release `1.<minor>` (patch kept for messages only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IstioVersion {
    pub major: u8,
    pub minor: u8,
    pub patch: Option<u16>,
}

impl IstioVersion {
    /// WasmPlugin (`extensions.istio.io/v1alpha1`) arrived in Istio 1.12.
    pub const WASM_PLUGIN: IstioVersion = IstioVersion {
        major: 1,
        minor: 12,
        patch: None,
    };

    /// Parses `1.26`, `v1.24.3`, `1.24.0-beta.1` (pre-release suffix ignored) and the Sail
    /// aliases `v1.24-latest`. `master` and other names are not versions.
    pub fn parse(s: &str) -> Option<IstioVersion> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let s = s.strip_suffix("-latest").unwrap_or(s);
        let s = s.split_once('-').map_or(s, |(v, _)| v);
        let mut parts = s.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(IstioVersion {
            major,
            minor,
            patch,
        })
    }

    /// [`IstioVersion::parse`], with Sail's `master` read as the newest release the tool knows.
    pub fn parse_release(s: &str) -> Option<IstioVersion> {
        if s.trim() == "master" {
            return istio_rows().last().map(|r| r.istio);
        }
        Self::parse(s)
    }

    /// The same release without its patch (what the table is keyed by).
    pub fn minor_release(self) -> IstioVersion {
        IstioVersion {
            patch: None,
            ..self
        }
    }

    /// This release's row of `istio_versions.tsv`, if the tool knows it.
    pub fn row(self) -> Option<&'static IstioRow> {
        let key = self.minor_release();
        istio_rows().iter().find(|r| r.istio == key)
    }

    /// The mesh version whose behaviour this release has: the OSSM version built on it, else the
    /// newest OSSM version built on an older release (istiod's Wasm behaviour only changes in
    /// releases that OSSM ships; finer differences are judged from [`IstioVersion`] itself).
    /// `None` below the oldest row.
    pub fn mesh_equivalent(self) -> Option<MeshVersion> {
        let key = self.minor_release();
        istio_rows()
            .iter()
            .rev()
            .filter(|r| r.istio <= key)
            .find_map(|r| r.ossm)
    }
}

impl fmt::Display for IstioVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{p}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

/// One row of `rules/abi/istio_versions.tsv`.
#[derive(Debug, Clone)]
pub struct IstioRow {
    pub istio: IstioVersion,
    pub envoy: String,
    pub ossm: Option<MeshVersion>,
    /// Whether the Sail operator accepts this release in `Istio.spec.version`.
    pub sail: bool,
}

/// The embedded table, parsed once; a malformed row is a build bug (tested), so it panics with
/// the line.
pub fn istio_rows() -> &'static [IstioRow] {
    static ROWS: OnceLock<Vec<IstioRow>> = OnceLock::new();
    ROWS.get_or_init(|| {
        const P: &str = "abi/istio_versions.tsv";
        let text = crate::data::file(P).expect("rules/abi/istio_versions.tsv is embedded");
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
            .skip(1)
            .map(|(n, l)| {
                let c: Vec<&str> = l.split('\t').collect();
                let bad = |what: &str| -> ! { panic!("rules/{P}:{}: {what}: {l:?}", n + 1) };
                if c.len() < 4 {
                    bad("fewer than 4 columns");
                }
                IstioRow {
                    istio: IstioVersion::parse(c[0])
                        .filter(|v| v.patch.is_none())
                        .unwrap_or_else(|| bad("istio")),
                    envoy: c[1].to_string(),
                    ossm: match c[2] {
                        "-" => None,
                        v => Some(MeshVersion::parse(v).unwrap_or_else(|| bad("ossm"))),
                    },
                    sail: match c[3] {
                        "yes" => true,
                        "no" => false,
                        _ => bad("sail"),
                    },
                }
            })
            .collect()
    })
}

impl fmt::Display for MeshVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert_eq!(MeshVersion::parse("v2.2"), Some(MeshVersion::V2_2));
        assert_eq!(MeshVersion::parse("2.0.8"), Some(MeshVersion::V2_0));
        assert_eq!(MeshVersion::parse("v2"), None);
        assert_eq!(MeshVersion::parse("vx.1"), None);
        assert!(MeshVersion::V2_0 < MeshVersion::V2_1);
        assert!(!MeshVersion::parse("v2.4").unwrap().has_sme());
        assert_eq!(MeshVersion::V2_1.to_string(), "v2.1");
        assert!(MeshVersion::parse("v3.0").unwrap().is_sail());
        assert!(!MeshVersion::parse("v3.1").unwrap().has_sme());
        assert!(!MeshVersion::V2_6.is_sail());
    }

    #[test]
    fn the_istio_table_maps_releases_both_ways() {
        let rows = istio_rows();
        assert!(rows.windows(2).all(|w| w[0].istio < w[1].istio));
        // Every known mesh version has its Istio release (maistra.md §0).
        for v in MeshVersion::KNOWN {
            let m = MeshVersion::parse(v).unwrap();
            assert!(m.istio().is_some(), "{v} has no Istio row");
        }
        let ist = |s| IstioVersion::parse(s).unwrap();
        assert_eq!(MeshVersion::V2_2.istio(), Some(ist("1.12")));
        assert_eq!(MeshVersion::V2_6.istio(), Some(ist("1.20")));
        assert_eq!(MeshVersion::V3_0.istio(), Some(ist("1.24")));
        assert_eq!(ist("v1.24.3").row().unwrap().envoy, "1.32");
        assert_eq!(ist("1.20").row().unwrap().envoy, "1.28");
        assert_eq!(ist("v1.24.3").mesh_equivalent(), Some(MeshVersion::V3_0));
        // 1.25 has no OSSM: it behaves like the newest OSSM below it.
        assert_eq!(ist("1.25").mesh_equivalent(), Some(MeshVersion::V3_0));
        assert_eq!(ist("1.26").mesh_equivalent(), MeshVersion::parse("v3.1"));
        assert_eq!(ist("1.29").mesh_equivalent(), MeshVersion::parse("v3.3"));
        assert_eq!(ist("1.31").mesh_equivalent(), MeshVersion::parse("v3.4"));
        assert_eq!(ist("1.13").mesh_equivalent(), Some(MeshVersion::V2_2));
        assert_eq!(ist("1.5").mesh_equivalent(), None);
        assert!(ist("1.99").row().is_none());
        assert!(ist("1.24").row().unwrap().sail && !ist("1.20").row().unwrap().sail);
    }

    #[test]
    fn parses_istio_versions_as_sail_writes_them() {
        let v = IstioVersion::parse("v1.24.3").unwrap();
        assert_eq!((v.minor, v.patch), (24, Some(3)));
        assert_eq!(v.to_string(), "1.24.3");
        assert_eq!(
            IstioVersion::parse("v1.26-latest").unwrap().to_string(),
            "1.26"
        );
        assert_eq!(IstioVersion::parse("1.31.0-beta.1").unwrap().minor, 31);
        assert_eq!(IstioVersion::parse("master"), None);
        assert_eq!(
            IstioVersion::parse_release("master"),
            Some(istio_rows().last().unwrap().istio)
        );
        assert_eq!(IstioVersion::parse("1"), None);
        assert_eq!(IstioVersion::parse("1.2.3.4"), None);
    }
}

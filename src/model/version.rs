//! OpenShift Service Mesh versions, as written in `ServiceMeshControlPlane.spec.version`.

use std::fmt;

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
    /// The versions whose proxies run ServiceMeshExtensions, oldest first.
    pub const WITH_SME: [MeshVersion; 3] = [Self::V2_0, Self::V2_1, Self::V2_2];
    /// Every version the tool knows about.
    pub const KNOWN: [&'static str; 7] = ["v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5", "v2.6"];

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
    }
}

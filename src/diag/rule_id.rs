//! `RuleId`: one variant per catalogue entry (`rules/catalogue/`), with its default severity,
//! generated at build time. It lives beside `Diagnostic` so that findings do not depend on the
//! rules that raise them.

use super::Severity;
use serde::{Serialize, Serializer};
use std::fmt;

include!(concat!(env!("OUT_DIR"), "/rule_ids.rs"));

impl RuleId {
    /// The ID for `MX301` (any case), if the catalogue has it.
    pub fn parse(s: &str) -> Option<RuleId> {
        RuleId::ALL
            .iter()
            .copied()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    /// The family digit: 1 input, 2 control plane, 3 resources, 4 images, 5 ABI, 6 chains, 7 runtime.
    pub fn family(self) -> u8 {
        self.as_str().as_bytes()[2] - b'0'
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

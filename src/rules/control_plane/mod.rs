//! 2xx: the control plane, membership, and whether extensions are seen at all.

pub(crate) mod enabled;
pub(crate) mod istio;
pub(crate) mod membership;
pub(crate) mod missing;
pub(crate) mod operator;
pub(crate) mod sme_support;

use crate::model::Extension;

fn sme_label(e: &Extension) -> String {
    e.meta.display()
}

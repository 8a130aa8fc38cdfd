//! The rules: their IDs (generated from `rules/catalogue/` by `build.rs`) and the catalogue
//! texts behind `rules`, `explain` and `docs/rules/`.

pub mod catalogue;

pub use crate::diag::RuleId;
pub use catalogue::{all, get, Rule};
pub mod registry;

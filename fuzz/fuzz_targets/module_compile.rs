//! The pieces of a large module's compile that read the module bytes themselves
//! (`simulate::compile`): the whole-module verdict must equal wasmi's `Module::validate`, word
//! for word, and splitting off the data section must never panic; where the whole module is
//! valid, the rest it leaves must be valid too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use meshext_lint::simulate::compile::{Detached, Validation};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let bytes: Arc<[u8]> = Arc::from(data);
    let engine = wasmi::Engine::default();
    let wasmi = wasmi::Module::validate(&engine, data).map_err(|e| e.to_string());
    let ours = Validation::start(&bytes).wait();
    assert_eq!(ours, wasmi);
    if let Some((rest, _)) = Detached::split(&bytes) {
        // A valid whole module leaves a valid rest (nothing the rest needs was taken away).
        if wasmi.is_ok() {
            wasmi::Module::validate(&engine, &rest).expect("the rest of a valid module");
        }
    }
});

//! Module start-up under the simulated host, with small budgets so each input runs fast.
#![no_main]
use libfuzzer_sys::fuzz_target;
use meshext_lint::model::version::MeshVersion;
use meshext_lint::simulate::{startup, Limits, Profile};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        fuel_per_call: 2_000_000,
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    let _ = startup::start_module_with(
        data,
        "fuzz",
        "{}",
        Profile::for_mesh(MeshVersion::V2_1),
        limits,
    );
});

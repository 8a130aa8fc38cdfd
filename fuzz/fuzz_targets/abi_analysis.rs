//! Static module analysis (`abi::analyze`) and the ABI checks for every mesh version.
#![no_main]
use libfuzzer_sys::fuzz_target;
use meshext_lint::abi;
use meshext_lint::model::version::MeshVersion;

fuzz_target!(|data: &[u8]| {
    let _ = abi::abi_markers(data);
    if let Ok(info) = abi::analyze(data) {
        for v in MeshVersion::WITH_SME {
            let _ = abi::check(&info, v, "fuzz.wasm");
            let _ = abi::inspect::render(&info, v);
        }
    }
});

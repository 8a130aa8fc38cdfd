//! The scenario parser (`simulate --scenario`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = meshext_lint::simulate::parse_scenario("fuzz.yaml", &text);
});

//! The scenario's direct path (`load::direct`, which types a file straight from its text)
//! against the tree path: whenever the direct path reads an input, the tree path must read it
//! to the same `Scenario`. A mismatch would mean `simulate` runs something else than the file
//! says, silently, so it is worth its own target beside `scenario` (which only looks for
//! crashes).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    meshext_lint::simulate::scenario::assert_paths_agree(text);
});

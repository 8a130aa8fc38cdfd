//! Inputs the fuzzing campaign (docs/fuzzing.md) reported, run as the target ran them.

use meshext_lint::model::version::MeshVersion;
use meshext_lint::simulate::{startup, Limits, Profile};

/// `module_startup`, round 4: a mutated c-add-header whose start-up loop overflowed the stack
/// of the ASan build (wasmi's per-instruction handlers chain as sibling calls, which ASan and
/// debug assertions keep from becoming jumps). The same input must start, or fail with a
/// report, under the target's budgets in a normal build.
#[test]
fn module_startup_stack_overflow_input_starts_under_the_budget() {
    let wasm = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fuzz/module_startup-stack-overflow.wasm"
    ))
    .unwrap();
    let limits = Limits {
        fuel_per_call: 2_000_000,
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    // A thread with the default 2 MiB stack, as the test harness and rayon use.
    let r = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            startup::start_module_with(
                &wasm,
                "fuzz",
                "{}",
                Profile::for_mesh(MeshVersion::V2_1),
                limits,
            )
            .is_none()
        })
        .unwrap()
        .join();
    // `None`: it started (a start failure would be `Some`, also fine); what matters is no
    // panic and no overflow.
    assert!(r.is_ok(), "start-up panicked");
}

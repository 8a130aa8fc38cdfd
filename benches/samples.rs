//! `cargo bench --bench samples`: the pre-commit case. Lints the bundled samples
//! (`lint samples/mesh --images samples/images`, which reads the images, checks the modules'
//! ABI and starts every module with its SME's configuration) by spawning the release binary
//! 30 times (end to end: process start, output), and in-process through the library.
//! Target: well under 100 ms. `hyperfine` gives the same end-to-end figure (docs/performance.md).

#[path = "support/mod.rs"]
mod support;

use meshext_lint::lint::{lint, LintOptions};
use std::process::Command;
use support::{ms, root, time_n};

const RUNS: usize = 30;

fn main() {
    let bin = env!("CARGO_BIN_EXE_meshext-lint");
    for (label, args) in [
        (
            "lint samples/mesh --images samples/images",
            &["lint", "samples/mesh", "--images", "samples/images"][..],
        ),
        (
            "lint samples/mesh --images samples/images --no-runtime",
            &[
                "lint",
                "samples/mesh",
                "--images",
                "samples/images",
                "--no-runtime",
            ][..],
        ),
        ("lint samples/mesh", &["lint", "samples/mesh"][..]),
    ] {
        let run = || {
            let out = Command::new(bin)
                .args(args)
                .current_dir(root())
                .output()
                .expect("spawn meshext-lint");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        };
        run(); // warm the page cache
        let (mean, min, max) = time_n(RUNS, run);
        println!(
            "samples (binary, end to end): `meshext-lint {label}`: mean {} (min {}, max {}) over {RUNS} runs",
            ms(mean),
            ms(min),
            ms(max)
        );
    }
    let opts = LintOptions {
        paths: vec![root().join("samples/mesh").to_string_lossy().into_owned()],
        images: vec![root().join("samples/images")],
        ..Default::default()
    };
    let (mean, min, max) = time_n(RUNS, || {
        let out = lint(&opts).expect("lint");
        assert!(
            out.diagnostics.is_empty(),
            "the samples lint clean: {:#?}",
            out.diagnostics
        );
    });
    println!(
        "samples (in-process, library): lint samples/mesh with images: mean {} (min {}, max {}) over {RUNS} runs (load {})",
        ms(mean),
        ms(min),
        ms(max),
        support::load_average()
    );
}

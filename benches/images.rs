//! `cargo bench --bench images`: static analysis of a generated 3.5 MB proxy-wasm module
//! (parse + ABI check against v2.1) and reading a 50-image OCI layout (open the index, then
//! for every image: resolve the reference, read and unpack it, read manifest.yaml and the
//! module, analyse the module's ABI). One thread; `lint` analyses digests in parallel.

#[path = "support/mod.rs"]
mod support;

use meshext_lint::abi;
use meshext_lint::image::{self, ImageStore};
use meshext_lint::model::MeshVersion;
use support::{ms, time_n};

const IMAGES: usize = 50;

fn analyse(bytes: &[u8]) -> usize {
    let info = abi::analyze(bytes).expect("valid module");
    let found = abi::check(&info, MeshVersion::V2_1, "big");
    assert!(found.is_empty(), "{found:#?}");
    info.exports.len()
}

fn main() {
    let big = support::big_module(3_500_000);
    let (mean, min, max) = time_n(10, || analyse(&big));
    println!(
        "abi: analyse + check a {:.2} MB module: mean {} (min {}, max {}) over 10 runs",
        big.len() as f64 / 1e6,
        ms(mean),
        ms(min),
        ms(max)
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let layout = dir.path().join("layout");
    let refs = support::pack_images(&layout, "quay.io/acme/bench", IMAGES);
    let total: u64 = walk_size(&layout);
    let sources = vec![layout.clone()];
    let (mean, min, max) = time_n(5, || {
        let (store, problems) = ImageStore::open(&sources);
        assert!(problems.is_empty(), "{problems:#?}");
        store.images().len()
    });
    println!(
        "images: open a {IMAGES}-image layout ({:.1} MB) index: mean {} (min {}, max {})",
        total as f64 / 1e6,
        ms(mean),
        ms(min),
        ms(max)
    );
    let (mean, min, max) = time_n(5, || {
        // A fresh store each run: its per-digest cache would make later runs free.
        let (store, _) = ImageStore::open(&sources);
        let mut modules = 0;
        for r in &refs {
            let img = store.resolve(r).expect("listed").expect("readable");
            let pkg = image::read_extension_as(&img, r);
            assert!(pkg.problems.is_empty(), "{:#?}", pkg.problems);
            let bytes = pkg.module_bytes.expect("module");
            modules += analyse(&bytes).min(1);
        }
        assert_eq!(modules, IMAGES);
    });
    println!(
        "images: open + read + unpack + ABI-analyse all {IMAGES} images: mean {} (min {}, max {}), {} per image (load {})",
        ms(mean),
        ms(min),
        ms(max),
        ms(mean / IMAGES as u32),
        support::load_average()
    );
}

fn walk_size(p: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).unwrap().flatten() {
        let m = e.metadata().unwrap();
        n += if m.is_dir() {
            walk_size(&e.path())
        } else {
            m.len()
        };
    }
    n
}

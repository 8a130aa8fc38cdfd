//! One image layer (tar, or gzip of tar) applied to an empty filesystem with small bounds:
//! it must never panic, and what it keeps stays within the bounds (file contents are not
//! summed: hard links share their bytes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use meshext_lint::image::fs::{Budget, FileTree};
use meshext_lint::image::Limits;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_uncompressed: 8 << 20,
        max_files: 1000,
        max_tar_header: 4096,
        ..Limits::default()
    };
    let mut tree = FileTree::default();
    let mut budget = Budget::default();
    if let Ok(stats) = tree.apply_layer(data, &limits, &mut budget) {
        assert!(stats.uncompressed_size <= limits.max_uncompressed);
        assert!(tree.len() <= limits.max_files);
    }
});

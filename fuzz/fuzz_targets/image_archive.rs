//! Image readers: the input is an archive (OCI / docker-archive tar, optionally gzip) opened
//! as an `--images` source, then every image it lists is read as an extension package.
#![no_main]
use libfuzzer_sys::fuzz_target;
use meshext_lint::image::{read_extension, ImageStore};
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("meshext-fuzz-{}.tar", std::process::id()));
    let mut f = std::fs::File::create(&path).expect("temp file");
    f.write_all(data).expect("write temp file");
    drop(f);
    let (store, _errors) = ImageStore::open(&[path.clone()]);
    for info in store.images().to_vec() {
        if let Ok(image) = store.load(&info) {
            let _ = read_extension(&image);
        }
    }
    let _ = std::fs::remove_file(&path);
});

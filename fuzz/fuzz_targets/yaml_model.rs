//! The YAML loader and the mesh model built from its documents.
#![no_main]
use libfuzzer_sys::fuzz_target;
use meshext_lint::load::inputs::{add_source, Loaded};

fuzz_target!(|data: &[u8]| {
    let mut loaded = Loaded::default();
    add_source(&mut loaded, "fuzz.yaml".into(), data.to_vec());
    let mesh = meshext_lint::model::build::build(&loaded.documents, None);
    // Touch what rules read: every document rendered as JSON and located.
    for d in &loaded.documents {
        let _ = d.json();
        let _ = d.location_of("/spec");
    }
    drop(mesh);
});

//! The YAML loader's fast path against the saphyr-parser path: whenever the fast path
//! accepts an input, the saphyr path must accept it too and build the same documents
//! (values, byte spans, duplicate keys). Run with default budgets and with tiny ones, so that
//! the fast path's budget declines are exercised too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use meshext_lint::load::yaml::{parse_events, parse_fast, Limits};

fn same(text: &str, limits: Limits) {
    if let Some(fast) = parse_fast(text, limits) {
        let slow = parse_events(text, limits);
        assert!(slow.error.is_none(), "fast path accepted: {:?}", slow.error);
        // Debug text: NaN equals NaN there, and -0.0 differs from 0.0.
        assert_eq!(format!("{:?}", fast.docs), format!("{:?}", slow.docs));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    same(text, Limits::default());
    same(
        text,
        Limits {
            max_depth: 3,
            max_nodes: 40,
            max_file_nodes: 60,
            max_file_bytes: 200,
        },
    );
});

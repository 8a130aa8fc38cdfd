//! Data embedded from `rules/` at build time (see `build.rs`).

include!(concat!(env!("OUT_DIR"), "/data_files.rs"));

/// The contents of `rules/<path>`, if embedded.
pub fn file(path: &str) -> Option<&'static str> {
    DATA_FILES.iter().find(|(p, _)| *p == path).map(|(_, c)| *c)
}

/// All embedded files under `rules/<dir>/`, sorted by path.
pub fn files_under(dir: &str) -> impl Iterator<Item = (&'static str, &'static str)> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    DATA_FILES
        .iter()
        .filter(move |(p, _)| p.starts_with(&prefix))
        .map(|(p, c)| (*p, *c))
}

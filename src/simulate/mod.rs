//! Simulation: requests through the real proxy-wasm modules of a filter chain, on a
//! proxy-wasm host that behaves like the mesh version's Envoy (see `docs/fidelity.md`).

pub mod headers;
pub mod host;
pub mod vm;
pub mod trace {
    pub fn ser_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(b))
    }
}

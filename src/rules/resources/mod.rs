//! 3xx: the extension resources themselves (ServiceMeshExtension MX301–MX308, WasmPlugin
//! MX309–MX319).

pub(crate) mod config;
pub(crate) mod image;
pub(crate) mod missing_phase;
pub(crate) mod phase;
pub(crate) mod selector;
pub(crate) mod status;
pub(crate) mod wasm_plugin;
pub(crate) mod wasm_plugin_config;
pub(crate) mod wasm_plugin_pull;
pub(crate) mod wasm_plugin_schema;
pub(crate) mod wasm_plugin_selection;
pub(crate) mod wasm_plugin_url;

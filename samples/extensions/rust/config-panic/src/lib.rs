//! config-panic: mirrors maistra/header-append-filter's configuration bug.
//!
//! `on_configure` parses the configuration with `serde_json::from_slice(..).unwrap()`
//! into a JSON object, so it panics (wasm trap `unreachable`, after a critical
//! proxy_log with the panic message) when the configuration is missing, is the text
//! `null` (OSSM 2.1/2.2 for an SME without `config`) or is not a JSON object.
//! With a valid object it appends each key/value as a response header.

use log::info;
use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use serde_json::{Map, Value};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(PanicRoot { headers: Map::new() }) });
}}

struct PanicRoot {
    headers: Map<String, Value>,
}

impl Context for PanicRoot {}

impl RootContext for PanicRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap();
        self.headers = serde_json::from_slice(config.as_slice()).unwrap();
        info!("config-panic: {} header(s) configured", self.headers.len());
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(PanicFilter { headers: self.headers.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct PanicFilter {
    headers: Map<String, Value>,
}

impl Context for PanicFilter {}

impl HttpContext for PanicFilter {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in &self.headers {
            self.add_http_response_header(name, value.as_str().unwrap());
        }
        Action::Continue
    }
}

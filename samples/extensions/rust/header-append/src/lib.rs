//! header-append: the filter from the product documentation.
//!
//! On response headers it appends the headers given in the plugin configuration.
//! * configuration is a JSON object  -> every key/value becomes a response header
//!   (non-string values are appended in their JSON form);
//! * configuration is the text `null` (what OSSM 2.1/2.2 sends for an SME without
//!   `config`) or empty -> nothing is appended, an info line is logged;
//! * anything else (plain text, a JSON string/number/array) -> `custom-header: <text>`.

use log::{debug, info};
use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use serde_json::Value;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(HeaderAppendRoot { headers: Vec::new() })
    });
}}

struct HeaderAppendRoot {
    headers: Vec<(String, String)>,
}

impl Context for HeaderAppendRoot {}

impl RootContext for HeaderAppendRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        self.headers.clear();
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let text = String::from_utf8_lossy(&raw).trim().to_string();
        if text.is_empty() || text == "null" {
            info!("header-append: no configuration ({:?}), no header will be appended", text);
            return true;
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => {
                for (name, value) in map {
                    let value = match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    self.headers.push((name.to_ascii_lowercase(), value));
                }
            }
            _ => self.headers.push(("custom-header".to_string(), text)),
        }
        info!("header-append: configured {} header(s)", self.headers.len());
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(HeaderAppend { headers: self.headers.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct HeaderAppend {
    headers: Vec<(String, String)>,
}

impl Context for HeaderAppend {}

impl HttpContext for HeaderAppend {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in &self.headers {
            debug!("header-append: {}: {}", name, value);
            self.add_http_response_header(name, value);
        }
        Action::Continue
    }
}

//! body-rewrite: buffers the whole response body and replaces text in it.
//!
//! Configuration (JSON object): {"from": "hello", "to": "goodbye"}; `from` is required
//! and non-empty (otherwise on_configure returns false), `to` defaults to "".
//! Response headers: `content-length` is removed (the length changes). Response body:
//! returns Pause until end_of_stream, then rewrites the buffered body in one go.

use log::{error, info};
use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use serde_json::Value;
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(RewriteRoot { rule: None }) });
}}

struct Rule {
    from: String,
    to: String,
}

struct RewriteRoot {
    rule: Option<Rc<Rule>>,
}

impl Context for RewriteRoot {}

impl RootContext for RewriteRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let value: Value = match serde_json::from_slice(&raw) {
            Ok(v) => v,
            Err(e) => {
                error!("body-rewrite: configuration is not JSON: {}", e);
                return false;
            }
        };
        let from = value.get("from").and_then(Value::as_str).unwrap_or("");
        if from.is_empty() {
            error!("body-rewrite: configuration needs a non-empty \"from\"");
            return false;
        }
        let to = value.get("to").and_then(Value::as_str).unwrap_or("");
        info!("body-rewrite: replacing {:?} with {:?}", from, to);
        self.rule = Some(Rc::new(Rule { from: from.to_string(), to: to.to_string() }));
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        self.rule.as_ref().map(|r| Box::new(BodyRewrite { rule: r.clone() }) as Box<dyn HttpContext>)
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct BodyRewrite {
    rule: Rc<Rule>,
}

impl Context for BodyRewrite {}

impl HttpContext for BodyRewrite {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.set_http_response_header("content-length", None);
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            // Keep buffering until the whole body is there.
            return Action::Pause;
        }
        if let Some(body) = self.get_http_response_body(0, body_size) {
            let text = String::from_utf8_lossy(&body);
            if text.contains(self.rule.from.as_str()) {
                let rewritten = text.replace(self.rule.from.as_str(), &self.rule.to);
                self.set_http_response_body(0, body_size, rewritten.as_bytes());
                info!("body-rewrite: rewrote {} -> {} bytes", body_size, rewritten.len());
            }
        }
        Action::Continue
    }
}

//! oob-auth: out-of-band authorization with an HTTP callout.
//!
//! Configuration (JSON object):
//!   {"cluster": "outbound|8080||auth.shop.svc.cluster.local", "path": "/check",
//!    "authority": "auth.shop.svc.cluster.local", "timeout_ms": 5000}
//! `cluster` is required; `path` defaults to "/check"; `authority` defaults to the host
//! part of the cluster name; `timeout_ms` defaults to 5000.
//! `on_configure` returns false (and logs an error) when the configuration is missing,
//! not a JSON object or has no `cluster`: the plugin then fails to start.
//!
//! On request headers it calls the auth service (forwarding `x-user`) and pauses.
//! Callout answered 200 -> adds `x-auth: ok` and `x-auth-user: <response body>` to the
//! request and resumes it; anything else -> local reply 403 "denied".

use log::{error, info, warn};
use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use serde_json::Value;
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(AuthRoot { config: None }) });
}}

struct AuthConfig {
    cluster: String,
    path: String,
    authority: String,
    timeout: Duration,
}

fn parse_config(raw: &[u8]) -> Result<AuthConfig, String> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| format!("configuration is not JSON: {}", e))?;
    let obj = value.as_object().ok_or_else(|| "configuration is not a JSON object".to_string())?;
    let cluster = obj
        .get("cluster")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| "configuration has no \"cluster\"".to_string())?
        .to_string();
    let path = obj.get("path").and_then(Value::as_str).unwrap_or("/check").to_string();
    let authority = match obj.get("authority").and_then(Value::as_str) {
        Some(a) => a.to_string(),
        // Istio cluster names look like "outbound|8080||auth.shop.svc.cluster.local".
        None => cluster.rsplit('|').next().unwrap_or(&cluster).to_string(),
    };
    let timeout_ms = obj.get("timeout_ms").and_then(Value::as_u64).unwrap_or(5000);
    Ok(AuthConfig { cluster, path, authority, timeout: Duration::from_millis(timeout_ms) })
}

struct AuthRoot {
    config: Option<Rc<AuthConfig>>,
}

impl Context for AuthRoot {}

impl RootContext for AuthRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = match self.get_plugin_configuration() {
            Some(raw) => raw,
            None => {
                error!("oob-auth: missing configuration, need {{\"cluster\": ...}}");
                return false;
            }
        };
        match parse_config(&raw) {
            Ok(cfg) => {
                info!("oob-auth: checking requests against cluster {} path {}", cfg.cluster, cfg.path);
                self.config = Some(Rc::new(cfg));
                true
            }
            Err(e) => {
                error!("oob-auth: invalid configuration: {}", e);
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        self.config.as_ref().map(|c| Box::new(AuthFilter { config: c.clone() }) as Box<dyn HttpContext>)
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct AuthFilter {
    config: Rc<AuthConfig>,
}

impl HttpContext for AuthFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let user = self.get_http_request_header("x-user").unwrap_or_default();
        let cfg = self.config.clone();
        let mut headers = vec![
            (":method", "GET"),
            (":path", cfg.path.as_str()),
            (":authority", cfg.authority.as_str()),
        ];
        if !user.is_empty() {
            headers.push(("x-user", user.as_str()));
        }
        match self.dispatch_http_call(&cfg.cluster, headers, None, vec![], cfg.timeout) {
            Ok(token) => {
                info!("oob-auth: dispatched auth call {} for user {:?}", token, user);
                Action::Pause
            }
            Err(status) => {
                warn!("oob-auth: dispatch_http_call to {} failed: {:?}", cfg.cluster, status);
                self.send_http_response(503, vec![("content-type", "text/plain")], Some(b"auth service unavailable"));
                Action::Pause
            }
        }
    }
}

impl Context for AuthFilter {
    fn on_http_call_response(&mut self, token_id: u32, _num_headers: usize, body_size: usize, _num_trailers: usize) {
        let status = self.get_http_call_response_header(":status").unwrap_or_default();
        if status == "200" {
            let body = self.get_http_call_response_body(0, body_size).unwrap_or_default();
            let user = String::from_utf8_lossy(&body).trim().to_string();
            info!("oob-auth: call {} allowed user {:?}", token_id, user);
            self.add_http_request_header("x-auth", "ok");
            self.add_http_request_header("x-auth-user", &user);
            self.resume_http_request();
        } else {
            info!("oob-auth: call {} denied (status {:?})", token_id, status);
            self.send_http_response(403, vec![("content-type", "text/plain")], Some(b"denied"));
        }
    }
}

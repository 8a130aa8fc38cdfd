//! wasi-logger: a wasm32-wasi filter that uses WASI directly through Rust std.
//!
//! * `println!` / `eprintln!` -> wasi_snapshot_preview1.fd_write (stdout / stderr);
//! * `std::time::SystemTime::now()` -> wasi_snapshot_preview1.clock_time_get;
//! * adds the request header `x-seen-at: <unix seconds>`.
//! Configuration: ignored (printed to stdout).

use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use std::time::{SystemTime, UNIX_EPOCH};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(WasiLoggerRoot) });
}}

struct WasiLoggerRoot;

impl Context for WasiLoggerRoot {}

impl RootContext for WasiLoggerRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        println!("wasi-logger: configured with {:?}", String::from_utf8_lossy(&config));
        true
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(WasiLogger { context_id }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct WasiLogger {
    context_id: u32,
}

impl Context for WasiLogger {}

impl HttpContext for WasiLogger {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs(),
            Err(_) => 0,
        };
        let path = self.get_http_request_header(":path").unwrap_or_default();
        println!("wasi-logger: context {} saw {} at {}", self.context_id, path, secs);
        eprintln!("wasi-logger: stderr works too");
        self.add_http_request_header("x-seen-at", &secs.to_string());
        Action::Continue
    }
}

//! counter: shared data, metrics, timers and shared queues.
//!
//! Configuration (optional JSON object): {"tick_ms": 1000} (default 1000).
//! * every request: increments shared-data key `requests` (CAS retry loop), increments
//!   the counter metric `requests_total`, logs at info, and adds the response header
//!   `x-request-count: <N>`;
//! * the root context sets a tick period of `tick_ms`; each tick increments shared-data
//!   key `ticks` and enqueues "tick <N>" on the shared queue `counter_ticks` that it
//!   registered; `on_queue_ready` drains the queue and logs each message.

use log::{info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use serde_json::Value;
use std::time::Duration;

const QUEUE_NAME: &str = "counter_ticks";
const MAX_CAS_RETRIES: usize = 16;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(CounterRoot { metric_id: None, queue_id: None })
    });
}}

/// Adds `delta` to the decimal counter stored under `key`, retrying on CAS mismatch.
fn increment_shared<C: Context + ?Sized>(ctx: &C, key: &str, delta: u64) -> Option<u64> {
    for _ in 0..MAX_CAS_RETRIES {
        let (value, cas) = ctx.get_shared_data(key);
        let current = value
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        let next = current + delta;
        match ctx.set_shared_data(key, Some(next.to_string().as_bytes()), cas) {
            Ok(()) => return Some(next),
            Err(Status::CasMismatch) => continue,
            Err(status) => {
                warn!("counter: set_shared_data({}) failed: {:?}", key, status);
                return None;
            }
        }
    }
    warn!("counter: gave up on {} after {} CAS mismatches", key, MAX_CAS_RETRIES);
    None
}

struct CounterRoot {
    metric_id: Option<u32>,
    queue_id: Option<u32>,
}

impl Context for CounterRoot {}

impl RootContext for CounterRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let tick_ms = self
            .get_plugin_configuration()
            .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
            .and_then(|v| v.get("tick_ms").and_then(Value::as_u64))
            .unwrap_or(1000);
        match hostcalls::define_metric(MetricType::Counter, "requests_total") {
            Ok(id) => self.metric_id = Some(id),
            Err(status) => warn!("counter: define_metric failed: {:?}", status),
        }
        self.queue_id = Some(self.register_shared_queue(QUEUE_NAME));
        self.set_tick_period(Duration::from_millis(tick_ms));
        info!("counter: tick every {} ms, queue {:?}, metric {:?}", tick_ms, self.queue_id, self.metric_id);
        true
    }

    fn on_tick(&mut self) {
        let ticks = increment_shared(self, "ticks", 1).unwrap_or(0);
        if let Some(queue_id) = self.queue_id {
            let message = format!("tick {}", ticks);
            if let Err(status) = self.enqueue_shared_queue(queue_id, Some(message.as_bytes())) {
                warn!("counter: enqueue failed: {:?}", status);
            }
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        while let Ok(Some(message)) = self.dequeue_shared_queue(queue_id) {
            info!("counter: queue {} says {}", queue_id, String::from_utf8_lossy(&message));
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CounterFilter { metric_id: self.metric_id, count: None }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct CounterFilter {
    metric_id: Option<u32>,
    count: Option<u64>,
}

impl Context for CounterFilter {}

impl HttpContext for CounterFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.count = increment_shared(self, "requests", 1);
        if let Some(id) = self.metric_id {
            if let Err(status) = hostcalls::increment_metric(id, 1) {
                warn!("counter: increment_metric failed: {:?}", status);
            }
        }
        let path = self.get_http_request_header(":path").unwrap_or_default();
        info!("counter: request #{} {}", self.count.unwrap_or(0), path);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(count) = self.count {
            self.add_http_response_header("x-request-count", &count.to_string());
        }
        Action::Continue
    }
}

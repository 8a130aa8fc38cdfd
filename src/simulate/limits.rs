//! Every budget of the simulated host in one place (docs/limits.md, "Host"). A module is
//! untrusted code: fuel bounds its own instructions, these bound what it makes the host do
//! (hostcalls are charged to the same fuel), what the host keeps for it, and the totals over
//! a request, an `advance`, a run and every VM of the process.
//!
//! The budgets are read from the registry (`crate::limits`, overridable with `--limit` and
//! `limits:`); the fuel prices of hostcalls and the per-call defaults are constants.

use crate::limits::Limit;

/// Fuel (≈ Wasm instructions) per host→module call.
pub const FUEL_PER_CALL: u64 = 500_000_000;
/// Fuel over every call of one request (all filters, callouts and waits included).
pub fn fuel_per_request() -> u64 {
    crate::limits::get(Limit::FuelPerRequest)
}
/// Fuel over every tick, queue event and callout fired by one `advance`.
pub fn fuel_per_advance() -> u64 {
    crate::limits::get(Limit::FuelPerAdvance)
}
/// Fuel over a whole run (one `simulate`, or one module's start-up in `lint`).
pub fn fuel_per_run() -> u64 {
    crate::limits::get(Limit::FuelPerRun)
}

/// Linear memory per VM, bytes.
pub const MEMORY_PER_VM: usize = 512 << 20;
/// Linear memory of all VMs alive at once in the process (many extensions on one workload,
/// `lint`'s parallel start-ups), bytes.
pub fn memory_total() -> usize {
    crate::limits::get_usize(Limit::VmMemoryTotalBytes)
}

/// Nested module calls a hostcall may make (a hostcall copying data out calls the module's
/// `malloc`; a `malloc` that calls a hostcall that calls `malloc`… stops here).
pub fn max_host_call_depth() -> u32 {
    u32::try_from(crate::limits::get(Limit::HostCallDepth)).unwrap_or(u32::MAX)
}

/// Fuel charged for each access of a hostcall to module memory or to a host collection.
pub const HOST_FUEL_PER_ACCESS: u64 = 50;
/// Bytes a hostcall may copy per unit of fuel (copies are cheaper than instructions).
pub const HOST_BYTES_PER_FUEL: u64 = 8;
/// Fuel per entry of a host collection a hostcall builds, scans or replaces.
pub const HOST_FUEL_PER_ENTRY: u64 = 20;

/// Entries of one header or trailer map a module may grow (request, response, callout).
pub fn max_header_map_entries() -> usize {
    crate::limits::get_usize(Limit::HeaderMapEntries)
}
/// Bytes (names + values) of one such map.
pub fn max_header_map_bytes() -> usize {
    crate::limits::get_usize(Limit::HeaderMapBytes)
}
/// Bytes of one body buffer (`proxy_set_buffer_bytes`).
pub fn max_body_bytes() -> usize {
    crate::limits::get_usize(Limit::BodyBytes)
}
/// Properties (`proxy_set_property`) of one stream, and their bytes.
pub fn max_properties() -> usize {
    crate::limits::get_usize(Limit::Properties)
}
pub fn max_property_bytes() -> usize {
    crate::limits::get_usize(Limit::PropertyBytes)
}
/// Pending actions (local replies, callouts, continues…) of one callback, and their bytes.
pub fn max_pending_effects() -> usize {
    crate::limits::get_usize(Limit::PendingEffects)
}
pub fn max_pending_effect_bytes() -> usize {
    crate::limits::get_usize(Limit::PendingEffectBytes)
}
/// Metric definitions per VM, the bytes of one metric name, histogram samples kept per metric.
pub fn max_metrics() -> usize {
    crate::limits::get_usize(Limit::Metrics)
}
/// Metric ids handed out per VM (Envoy gives one per definition, even of a known metric).
pub fn max_metric_ids() -> usize {
    crate::limits::get_usize(Limit::MetricIds)
}
pub fn max_metric_name_bytes() -> usize {
    crate::limits::get_usize(Limit::MetricNameBytes)
}
pub fn max_histogram_samples() -> usize {
    crate::limits::get_usize(Limit::HistogramSamples)
}
/// Log lines a VM buffers between two drains (the oldest are dropped), the bytes of one line
/// (the rest is cut), and the bytes of all lines buffered.
pub fn max_log_lines() -> usize {
    crate::limits::get_usize(Limit::LogLines)
}
pub fn max_log_line_bytes() -> usize {
    crate::limits::get_usize(Limit::LogLineBytes)
}
pub fn max_log_bytes() -> usize {
    crate::limits::get_usize(Limit::LogBytes)
}
/// Log bytes kept over a whole run (the trace); later lines are counted, not kept.
pub fn max_run_log_bytes() -> u64 {
    crate::limits::get(Limit::RunLogBytes)
}
/// iovecs of one `fd_write` (Linux `IOV_MAX`; more is `EINVAL`).
pub fn max_iovecs() -> u32 {
    u32::try_from(crate::limits::get(Limit::Iovecs)).unwrap_or(u32::MAX)
}
/// Ticks one `advance` fires.
pub fn max_ticks_per_advance() -> usize {
    crate::limits::get_usize(Limit::TicksPerAdvance)
}

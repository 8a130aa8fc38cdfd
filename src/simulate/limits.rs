//! Every budget of the simulated host in one place (docs/limits.md, "Host"). A module is
//! untrusted code: fuel bounds its own instructions, these bound what it makes the host do
//! (hostcalls are charged to the same fuel), what the host keeps for it, and the totals over
//! a request, an `advance`, a run and every VM of the process.
//!
//! The `Limits` fields (`vm::Limits`) carry the overridable ones; the rest are constants.

/// Fuel (≈ Wasm instructions) per host→module call.
pub const FUEL_PER_CALL: u64 = 500_000_000;
/// Fuel over every call of one request (all filters, callouts and waits included).
pub const FUEL_PER_REQUEST: u64 = 2_000_000_000;
/// Fuel over every tick, queue event and callout fired by one `advance`.
pub const FUEL_PER_ADVANCE: u64 = 2_000_000_000;
/// Fuel over a whole run (one `simulate`, or one module's start-up in `lint`).
pub const FUEL_PER_RUN: u64 = 10_000_000_000;

/// Linear memory per VM, bytes.
pub const MEMORY_PER_VM: usize = 512 << 20;
/// Linear memory of all VMs alive at once in the process (many extensions on one workload,
/// `lint`'s parallel start-ups), bytes.
pub const MEMORY_TOTAL: usize = 2 << 30;

/// Nested module calls a hostcall may make (a hostcall copying data out calls the module's
/// `malloc`; a `malloc` that calls a hostcall that calls `malloc`… stops here).
pub const MAX_HOST_CALL_DEPTH: u32 = 8;

/// Fuel charged for each access of a hostcall to module memory or to a host collection.
pub const HOST_FUEL_PER_ACCESS: u64 = 50;
/// Bytes a hostcall may copy per unit of fuel (copies are cheaper than instructions).
pub const HOST_BYTES_PER_FUEL: u64 = 8;
/// Fuel per entry of a host collection a hostcall builds, scans or replaces.
pub const HOST_FUEL_PER_ENTRY: u64 = 20;

/// Entries of one header or trailer map a module may grow (request, response, callout).
pub const MAX_HEADER_MAP_ENTRIES: usize = 10_000;
/// Bytes (names + values) of one such map.
pub const MAX_HEADER_MAP_BYTES: usize = 1 << 20;
/// Bytes of one body buffer (`proxy_set_buffer_bytes`).
pub const MAX_BODY_BYTES: usize = 16 << 20;
/// Properties (`proxy_set_property`) of one stream, and their bytes.
pub const MAX_PROPERTIES: usize = 10_000;
pub const MAX_PROPERTY_BYTES: usize = 16 << 20;
/// Pending actions (local replies, callouts, continues…) of one callback, and their bytes.
pub const MAX_PENDING_EFFECTS: usize = 10_000;
pub const MAX_PENDING_EFFECT_BYTES: usize = 16 << 20;
/// Metric definitions per VM, the bytes of one metric name, histogram samples kept per metric.
pub const MAX_METRICS: usize = 10_000;
/// Metric ids handed out per VM (Envoy gives one per definition, even of a known metric).
pub const MAX_METRIC_IDS: usize = 100_000;
pub const MAX_METRIC_NAME_BYTES: usize = 4096;
pub const MAX_HISTOGRAM_SAMPLES: usize = 10_000;
/// Log lines a VM buffers between two drains (the oldest are dropped), the bytes of one line
/// (the rest is cut), and the bytes of all lines buffered.
pub const MAX_LOG_LINES: usize = 10_000;
pub const MAX_LOG_LINE_BYTES: usize = 16 * 1024;
pub const MAX_LOG_BYTES: usize = 4 << 20;
/// Log bytes kept over a whole run (the trace); later lines are counted, not kept.
pub const MAX_RUN_LOG_BYTES: u64 = 64 << 20;
/// iovecs of one `fd_write` (Linux `IOV_MAX`; more is `EINVAL`).
pub const MAX_IOVECS: u32 = 1024;
/// Ticks one `advance` fires.
pub const MAX_TICKS_PER_ADVANCE: usize = 10_000;

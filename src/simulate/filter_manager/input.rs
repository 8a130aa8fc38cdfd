//! What the filter manager is given: the chain, a request, upstream answers and callout mocks.
//! The scenario parser produces these; keep names and fields stable.

use std::sync::Arc;

/// One filter of the effective chain, as the chain builder hands it over.
#[derive(Debug, Clone)]
pub enum SimFilter {
    /// A built-in filter (`istio_authn`, `rbac`, `istio.stats`, `router`, …): passes through.
    Builtin {
        name: String,
    },
    Extension(ExtensionFilter),
    /// A singleton Wasm service (Envoy's `envoy.bootstrap.wasm` bootstrap extension,
    /// `WasmService{singleton: true}`): its plugin starts with Envoy, before the listeners'
    /// filters, and gets timers, queue events and callout answers but never a stream or
    /// connection context. Its place in a chain is irrelevant.
    Service(ExtensionFilter),
}

#[derive(Debug, Clone, Default)]
pub struct ExtensionFilter {
    /// SME name and namespace.
    pub name: String,
    pub namespace: String,
    pub module: Arc<Vec<u8>>,
    /// The configuration text exactly as the proxy delivers it.
    pub configuration: String,
    /// `<name>_root` for SMEs.
    pub root_id: String,
    /// Envoy `PluginConfig.name` (the SME name).
    pub plugin_name: String,
    /// `vm_config.vm_id`; None: not given (the scenario's `vm_id`, else empty).
    pub vm_id: Option<String>,
    /// `vm_config.configuration` as the proxy delivers it (`proxy_on_vm_start`, buffer 6);
    /// None: not given (the scenario's `vm_config`, else empty).
    pub vm_configuration: Option<String>,
    /// Whether this plugin shares a VM with the earlier plugins of the same VM key (vm_id,
    /// VM configuration and module bytes), as Envoy does. False for mesh chains unless the
    /// scenario sets `vm_id`: the simulator gives each extension a VM of its own there.
    pub share_vm: bool,
    /// `vm_config.environment_variables` (a WasmPlugin's inline `vmConfig.env`).
    pub env: Vec<(String, String)>,
    /// Envoy's `fail_open` (a WasmPlugin's `failStrategy: FAIL_OPEN`, Istio 1.19+): when the
    /// plugin's VM has failed, streams skip the filter instead of failing with 503.
    pub fail_open: bool,
}

impl SimFilter {
    pub fn label(&self) -> String {
        match self {
            SimFilter::Builtin { name } => name.clone(),
            SimFilter::Extension(e) => format!("{}/{}", e.namespace, e.name),
            SimFilter::Service(e) => format!("service {}/{}", e.namespace, e.name),
        }
    }
}

/// An answer for out-of-band HTTP calls.
#[derive(Debug, Clone, Default)]
pub struct HttpMock {
    /// Exact cluster name or a `*` glob.
    pub cluster: String,
    pub path: Option<String>,
    pub response: Response,
    /// When the answer arrives (`delay:`, as for gRPC answers).
    pub delay: GrpcDelay,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub status: u32,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body's data frames when it is sent in several (`upstream.chunks`; an empty last
    /// one is an empty end-of-stream frame, other empty ones empty frames); None: one frame.
    pub chunks: Option<Vec<Vec<u8>>>,
    pub trailers: Vec<(String, String)>,
}

/// Whether body chunk `i` is an empty data frame that does not end the stream (the last chunk
/// ends it unless trailers follow). Only HTTP/2 carries one, and Envoy's codec closes the
/// connection at the second in a row.
pub fn open_empty_frame<C: AsRef<[u8]>>(chunks: &[C], i: usize, trailers: bool) -> bool {
    chunks[i].as_ref().is_empty() && (i + 1 < chunks.len() || trailers)
}

/// A request to send (already defaulted), borrowed from the scenario: the host copies what
/// it keeps into the stream's own maps.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestInput<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub authority: &'a str,
    pub headers: &'a [(String, String)],
    pub chunks: &'a [Vec<u8>],
    pub trailers: &'a [(String, String)],
}

/// A scenario answer for gRPC calls (`grpc_calls:`), matched by service, method and cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrpcMock {
    /// Service name or pattern (`*` = any run of characters, as cluster patterns).
    pub service: String,
    pub method: Option<String>,
    pub cluster: Option<String>,
    pub initial_metadata: Vec<(String, String)>,
    pub messages: Vec<Vec<u8>>,
    /// gRPC status code (0 OK … 16).
    pub status: u32,
    pub status_message: String,
    pub trailing_metadata: Vec<(String, String)>,
    /// A stream's server closes once its messages are sent; false: only once the plugin
    /// closes its side (`proxy_grpc_close`, or `grpc_send` with end of stream).
    pub server_closes: bool,
    /// When the server answers (`delay:`).
    pub delay: GrpcDelay,
}

/// When a `grpc_calls` (or `http_calls`) entry's answer arrives, in simulated time after the call opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GrpcDelay {
    /// Right after the callback that opened the call returns.
    #[default]
    Now,
    /// After this many nanoseconds (time passes with `advance`, or while a paused request
    /// waits).
    After(u64),
    /// Never: the call ends only by its timeout, or stays open.
    Never,
}

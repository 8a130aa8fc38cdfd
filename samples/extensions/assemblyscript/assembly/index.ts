// as-add-header: AssemblyScript filter built with @solo-io/proxy-runtime 0.1.8.
//
// On response headers it adds `hello: <configuration>` (or `hello: world!` when the
// configuration is empty). The root context is registered under the FIXED root id
// "add_header": the runtime looks up `plugin_root_id` (proxy_get_property) when the
// root context is created and aborts ("Missing root context factory for root id")
// when the proxy gives another id, e.g. OSSM's "<SME name>_root".
export * from "@solo-io/proxy-runtime/proxy"; // exports the proxy_on_* entry points, malloc, ...
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues,
  stream_context, log, LogLevelValues,
} from "@solo-io/proxy-runtime";

class AddHeaderRoot extends RootContext {
  createContext(context_id: u32): Context {
    return new AddHeader(context_id, this);
  }
}

class AddHeader extends Context {
  constructor(context_id: u32, root_context: AddHeaderRoot) {
    super(context_id, root_context);
  }

  onResponseHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const configuration = this.root_context.getConfiguration();
    const value = configuration == "" ? "world!" : configuration;
    log(LogLevelValues.info, "as-add-header: hello: " + value);
    stream_context.headers.response.add("hello", value);
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => { return new AddHeaderRoot(context_id); }, "add_header");

// Minimal proxy-wasm host in Node (WebAssembly API) used to smoke-test the sample
// modules after a rebuild: `node smoke-test.mjs` (exit 1 on an unexpected result).
// It is NOT the meshext-lint simulator; it implements just enough of the ABI.
import { readFileSync } from "node:fs";

const dir = new URL("./build/", import.meta.url);
const enc = new TextEncoder(), dec = new TextDecoder();
let failures = 0;

function host(file, { config = "", rootId = "", maps = {}, httpReply = null }) {
  let inst, mem = () => new Uint8Array(inst.exports.memory.buffer);
  const dv = () => new DataView(inst.exports.memory.buffer);
  const st = { logs: [], maps: { 0: [], 2: [], 6: [], ...maps }, local: null, calls: [], shared: {}, queue: [], tick: 0,
               stdout: "", exit: null, metrics: {} };
  const str = (p, n) => dec.decode(mem().slice(p, p + n));
  const alloc = (n) => (inst.exports.malloc || inst.exports.proxy_on_memory_allocate)(n);
  const give = (bytes, pp, np) => {
    const p = bytes.length ? alloc(bytes.length) : 0;
    if (bytes.length) mem().set(bytes, p);
    dv().setUint32(pp, p, true); dv().setUint32(np, bytes.length, true); return 0;
  };
  const pairs = (list) => {
    const parts = list.map(([k, v]) => [enc.encode(k), enc.encode(v)]);
    let size = 4 + parts.length * 8 + parts.reduce((a, [k, v]) => a + k.length + v.length + 2, 0);
    const out = new Uint8Array(size), d = new DataView(out.buffer);
    d.setUint32(0, parts.length, true);
    let o = 4 + parts.length * 8;
    parts.forEach(([k, v], i) => {
      d.setUint32(4 + i * 8, k.length, true); d.setUint32(8 + i * 8, v.length, true);
      out.set(k, o); o += k.length + 1; out.set(v, o); o += v.length + 1;
    });
    return out;
  };
  const env = {
    proxy_log: (l, p, n) => { st.logs.push([l, str(p, n)]); return 0; },
    proxy_get_buffer_bytes: (t, s, n, pp, np) => (s >>>= 0, n >>>= 0, t === 7) ? give(enc.encode(config).slice(s, s + n), pp, np)
      : t === 4 ? give(enc.encode(st.callBody || "").slice(s, s + n), pp, np)
      : t === 1 ? give(enc.encode(st.body || "").slice(s, s + n), pp, np) : 1,
    proxy_set_buffer_bytes: (t, s, n, p, len) => { if (t !== 1) return 2; const b = st.body || ""; st.body = b.slice(0, s) + str(p, len) + b.slice(s + (n >>> 0)); return 0; },
    proxy_get_configuration: (pp, np) => give(enc.encode(config), pp, np),
    proxy_get_property: (p, n, pp, np) => str(p, n).replace(/\0/g, ".") === "plugin_root_id" ? give(enc.encode(rootId), pp, np) : 1,
    proxy_get_header_map_pairs: (m, pp, np) => give(pairs(st.maps[m] || []), pp, np),
    proxy_get_header_map_value: (m, kp, kn, pp, np) => {
      const h = (st.maps[m] || []).find(([k]) => k === str(kp, kn)); return h ? give(enc.encode(h[1]), pp, np) : 1;
    },
    proxy_add_header_map_value: (m, kp, kn, vp, vn) => { (st.maps[m] ||= []).push([str(kp, kn), str(vp, vn)]); return 0; },
    proxy_replace_header_map_value: (m, kp, kn, vp, vn) => { env.proxy_remove_header_map_value(m, kp, kn); return env.proxy_add_header_map_value(m, kp, kn, vp, vn); },
    proxy_remove_header_map_value: (m, kp, kn) => { st.maps[m] = (st.maps[m] || []).filter(([k]) => k !== str(kp, kn)); return 0; },
    proxy_set_tick_period_milliseconds: (ms) => { st.tick = ms; return 0; },
    proxy_get_shared_data: (kp, kn, pp, np, cp) => {
      const e = st.shared[str(kp, kn)]; if (!e) return 1; dv().setUint32(cp, e.cas, true); return give(enc.encode(e.v), pp, np);
    },
    proxy_set_shared_data: (kp, kn, vp, vn, cas) => {
      const k = str(kp, kn), e = st.shared[k];
      if (cas && e && e.cas !== cas) return 8;
      st.shared[k] = { v: str(vp, vn), cas: (e ? e.cas : 0) + 1 }; return 0;
    },
    proxy_register_shared_queue: (p, n, idp) => { dv().setUint32(idp, 1, true); return 0; },
    proxy_enqueue_shared_queue: (id, p, n) => { st.queue.push(str(p, n)); return 0; },
    proxy_dequeue_shared_queue: (id, pp, np) => st.queue.length ? give(enc.encode(st.queue.shift()), pp, np) : 7,
    proxy_define_metric: (t, p, n, idp) => { dv().setUint32(idp, 7, true); st.metrics[str(p, n)] = 0; return 0; },
    proxy_increment_metric: (id, d) => { st.metrics.requests_total += Number(d); return 0; },
    proxy_http_call: (up, un, hp, hn, bp, bn, tp, tn, ms, tokp) => {
      st.calls.push({ cluster: str(up, un), headers: mem().slice(hp, hp + hn) }); dv().setUint32(tokp, 42, true); return 0;
    },
    proxy_send_local_response: (code, dp, dn, bp, bn) => { st.local = [code, str(bp, bn)]; return 0; },
  };
  const wasi = {
    fd_write: (fd, iovs, n, wp) => { let t = 0; for (let i = 0; i < n; i++) { const p = dv().getUint32(iovs + i * 8, true), l = dv().getUint32(iovs + i * 8 + 4, true); st.stdout += str(p, l); t += l; } dv().setUint32(wp, t, true); return 0; },
    clock_time_get: (id, prec, tp) => { dv().setBigUint64(tp, 1622505600n * 1000000000n, true); return 0; },
    environ_sizes_get: (a, b) => { dv().setUint32(a, 0, true); dv().setUint32(b, 0, true); return 0; },
    environ_get: () => 0,
    proc_exit: (c) => { st.exit = c; throw new Error("proc_exit(" + c + ")"); },
  };
  const mod = new WebAssembly.Module(readFileSync(new URL(file, dir)));
  const imports = {};
  for (const i of WebAssembly.Module.imports(mod)) {
    const table = i.module === "env" ? env : wasi;
    (imports[i.module] ||= {})[i.name] = table[i.name] || (() => 0);
  }
  inst = new WebAssembly.Instance(mod, imports);
  st.x = inst.exports;
  return st;
}

function run(name, fn) {
  try { const r = fn(); console.log("ok   " + name + (r ? "  " + r : "")); }
  catch (e) { failures++; console.log("FAIL " + name + ": " + e.message); }
}
const expect = (c, msg) => { if (!c) throw new Error(msg); };
const start = (h, cfgLen) => { h.x._initialize?.(); h.x.proxy_on_context_create(1, 0); h.x.proxy_on_vm_start(1, 0); return h.x.proxy_on_configure(1, cfgLen); };
const hdr = (h, m, k) => (h.maps[m].find(([n]) => n === k) || [])[1];

for (const [cfg, want] of [['{"x-a":"1","x-b":2}', [["x-a", "1"], ["x-b", "2"]]], ["null", []], ["plain text", [["custom-header", "plain text"]]]]) {
  run(`header-append ${cfg}`, () => {
    const h = host("header-append.wasm", { config: cfg });
    expect(start(h, cfg.length) === 1, "configure failed");
    h.x.proxy_on_context_create(2, 1); h.x.proxy_on_response_headers(2, 0, 0);
    expect(JSON.stringify(h.maps[2]) === JSON.stringify(want), JSON.stringify(h.maps[2]));
  });
}
for (const cfg of ["null", "text"]) {
  run(`config-panic traps on ${cfg}`, () => {
    const h = host("config-panic.wasm", { config: cfg });
    let trapped = false; try { start(h, cfg.length); } catch (e) { trapped = e instanceof WebAssembly.RuntimeError; }
    expect(trapped && h.logs.some(([l]) => l === 5), "no trap/critical log: " + JSON.stringify(h.logs));
    return h.logs.find(([l]) => l === 5)[1].slice(0, 70);
  });
}
run("oob-auth rejects config without cluster", () => {
  const h = host("oob-auth.wasm", { config: '{"path":"/x"}' });
  expect(start(h, 13) === 0, "on_configure should be false"); return h.logs.at(-1)[1];
});
for (const status of ["200", "401"]) {
  run(`oob-auth callout ${status}`, () => {
    const cfg = '{"cluster":"outbound|8080||auth.shop.svc.cluster.local","path":"/check"}';
    const h = host("oob-auth.wasm", { config: cfg, maps: { 0: [["x-user", "alice"]] } });
    expect(start(h, cfg.length) === 1, "configure");
    h.x.proxy_on_context_create(2, 1);
    expect(h.x.proxy_on_request_headers(2, 1, 1) === 1, "should pause");
    expect(h.calls[0].cluster.startsWith("outbound|8080"), "cluster");
    h.maps[6] = [[":status", status]]; h.callBody = "alice";
    h.x.proxy_on_http_call_response(1, 42, 1, 5, 0);
    if (status === "200") expect(hdr(h, 0, "x-auth") === "ok" && hdr(h, 0, "x-auth-user") === "alice", JSON.stringify(h.maps[0]));
    else expect(h.local && h.local[0] === 403 && h.local[1] === "denied", JSON.stringify(h.local));
  });
}
run("counter", () => {
  const h = host("counter.wasm", { config: '{"tick_ms":250}' });
  expect(start(h, 15) === 1, "configure"); expect(h.tick === 250, "tick " + h.tick);
  for (const id of [2, 3]) { h.x.proxy_on_context_create(id, 1); h.x.proxy_on_request_headers(id, 0, 1); h.x.proxy_on_response_headers(id, 0, 1); }
  expect(hdr(h, 2, "x-request-count") === "1" && h.maps[2].at(-1)[1] === "2", JSON.stringify(h.maps[2]));
  h.x.proxy_on_tick(1); h.x.proxy_on_queue_ready(1, 1);
  expect(h.shared.ticks.v === "1" && h.metrics.requests_total === 2, JSON.stringify(h.shared));
  return h.logs.at(-1)[1];
});
run("body-rewrite", () => {
  const h = host("body-rewrite.wasm", { config: '{"from":"hello","to":"goodbye"}', maps: { 2: [["content-length", "11"]] } });
  expect(start(h, 31) === 1, "configure"); h.x.proxy_on_context_create(2, 1);
  h.x.proxy_on_response_headers(2, 1, 0);
  expect(!hdr(h, 2, "content-length"), "content-length kept");
  h.body = "hello";
  expect(h.x.proxy_on_response_body(2, 5, 0) === 1, "should pause mid-body");
  h.body = "hello world";
  expect(h.x.proxy_on_response_body(2, 11, 1) === 0 && h.body === "goodbye world", h.body);
});
run("wasi-logger", () => {
  const h = host("wasi-logger.wasm", { maps: { 0: [[":path", "/"]] } });
  expect(start(h, 0) === 1, "configure"); h.x.proxy_on_context_create(2, 1); h.x.proxy_on_request_headers(2, 1, 1);
  expect(hdr(h, 0, "x-seen-at") === "1622505600", JSON.stringify(h.maps[0])); return JSON.stringify(h.stdout.split("\n")[1]);
});
for (const [rootId, ok] of [["add_header", true], ["my-ext_root", false]]) {
  run(`as-add-header root id ${rootId}`, () => {
    const h = host("as-add-header.wasm", { config: "hi", rootId });
    let err = null;
    try { h.x.proxy_on_context_create(1, 0); start(h, 2); h.x.proxy_on_context_create(2, 1); h.x.proxy_on_response_headers(2, 0, 0); }
    catch (e) { err = e.message; }
    if (ok) expect(!err && hdr(h, 2, "hello") === "hi", err || JSON.stringify(h.maps[2]));
    else expect(h.exit === 255, "expected proc_exit(255), got " + err);
  });
}
run("c-add-header", () => {
  const h = host("c-add-header.wasm", { config: " cfg \n" });
  expect(start(h, 6) === 1, "configure"); h.x.proxy_on_context_create(2, 1);
  h.x.proxy_on_request_headers(2, 0); h.x.proxy_on_response_headers(2, 0);
  expect(hdr(h, 0, "x-c-filter") === "cfg" && hdr(h, 2, "x-powered-by") === "c-add-header", JSON.stringify(h.maps));
});
process.exit(failures ? 1 : 0);

;; tcp-plugin.wat: a network (TCP) filter: only proxy_on_new_connection and
;; proxy_on_downstream_data, no HTTP callback (MX409 when installed as an HTTP WasmPlugin).
;; Rebuild: wat2wasm tcp-plugin.wat -o plugin.wasm
(module
  (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
  (memory (export "memory") 17)
  (func (export "_initialize"))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_new_connection") (param i32) (result i32) i32.const 0)
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32) i32.const 0))

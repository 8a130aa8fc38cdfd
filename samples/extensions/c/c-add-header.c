/*
 * c-add-header: a proxy-wasm filter written directly against the ABI, version 0.1.0
 * (the only version OpenShift Service Mesh 2.0 / envoy-wasm accepts), no SDK.
 *
 *  - on_configure: reads the plugin configuration with proxy_get_configuration (the
 *    0.1.0-only hostcall) and keeps it (trimmed, at most 256 bytes); logs it at info.
 *  - request headers (0.1.0 two-argument form): adds `x-c-filter: <configuration>`
 *    (or `x-c-filter: hello` when the configuration is empty).
 *  - response headers: adds `x-powered-by: c-add-header`.
 *
 * Exports the 0.1.0 marker, `malloc`/`free` (wasi-libc dlmalloc) for the host,
 * and nothing from WASI is imported.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
#define EXPORT(name) __attribute__((export_name(#name)))

enum { LOG_INFO = 2, LOG_WARN = 3 };
enum { MAP_REQUEST_HEADERS = 0, MAP_RESPONSE_HEADERS = 2 };
enum { ACTION_CONTINUE = 0 };
enum { STATUS_OK = 0 };

IMPORT(proxy_log) int32_t proxy_log(int32_t level, const char *msg, size_t len);
IMPORT(proxy_get_configuration) int32_t proxy_get_configuration(const char **ptr, size_t *len);
IMPORT(proxy_add_header_map_value) int32_t proxy_add_header_map_value(
    int32_t map, const char *key, size_t key_len, const char *value, size_t value_len);

static char config[256];
static size_t config_len;

static void log_str(int32_t level, const char *prefix, const char *s, size_t n) {
  char line[320];
  size_t p = strlen(prefix);
  if (n > sizeof(line) - p) n = sizeof(line) - p;
  memcpy(line, prefix, p);
  memcpy(line + p, s, n);
  proxy_log(level, line, p + n);
}

static void add_header(int32_t map, const char *key, const char *value, size_t value_len) {
  if (proxy_add_header_map_value(map, key, strlen(key), value, value_len) != STATUS_OK)
    log_str(LOG_WARN, "c-add-header: could not add ", key, strlen(key));
}

/* The 0.1.0 marker: never called, only looked up by name. */
EXPORT(proxy_abi_version_0_1_0) void proxy_abi_version_0_1_0(void) {}

/* The host writes returned data into memory obtained from the module's malloc. */
EXPORT(malloc) void *proxy_malloc(size_t size) { return malloc(size); }
EXPORT(free) void proxy_free(void *ptr) { free(ptr); }

EXPORT(proxy_on_context_create) void proxy_on_context_create(uint32_t context_id, uint32_t parent_id) {
  (void)context_id;
  (void)parent_id;
}

EXPORT(proxy_on_vm_start) uint32_t proxy_on_vm_start(uint32_t root_id, uint32_t vm_config_size) {
  (void)root_id;
  (void)vm_config_size;
  return 1;
}

EXPORT(proxy_on_configure) uint32_t proxy_on_configure(uint32_t root_id, uint32_t size) {
  const char *ptr = NULL;
  size_t len = 0;
  (void)root_id;
  (void)size;
  config_len = 0;
  if (proxy_get_configuration(&ptr, &len) == STATUS_OK && ptr != NULL) {
    size_t start = 0, end = len;
    while (start < end && (ptr[start] == ' ' || ptr[start] == '\n' || ptr[start] == '\t')) start++;
    while (end > start && (ptr[end - 1] == ' ' || ptr[end - 1] == '\n' || ptr[end - 1] == '\t')) end--;
    config_len = end - start < sizeof(config) ? end - start : sizeof(config);
    memcpy(config, ptr + start, config_len);
    free((void *)ptr);
  }
  log_str(LOG_INFO, "c-add-header: configured with ", config, config_len);
  return 1;
}

EXPORT(proxy_on_request_headers) uint32_t proxy_on_request_headers(uint32_t context_id, uint32_t headers) {
  (void)context_id;
  (void)headers;
  if (config_len == 0)
    add_header(MAP_REQUEST_HEADERS, "x-c-filter", "hello", 5);
  else
    add_header(MAP_REQUEST_HEADERS, "x-c-filter", config, config_len);
  return ACTION_CONTINUE;
}

EXPORT(proxy_on_response_headers) uint32_t proxy_on_response_headers(uint32_t context_id, uint32_t headers) {
  (void)context_id;
  (void)headers;
  add_header(MAP_RESPONSE_HEADERS, "x-powered-by", "c-add-header", 12);
  return ACTION_CONTINUE;
}

EXPORT(proxy_on_done) uint32_t proxy_on_done(uint32_t context_id) {
  (void)context_id;
  return 1;
}

EXPORT(proxy_on_delete) void proxy_on_delete(uint32_t context_id) { (void)context_id; }

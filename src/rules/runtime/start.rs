//! MX701 (the module cannot be loaded or its start function fails) and MX702
//! (`proxy_on_vm_start` fails).

super::runtime_unit!(Start, [MX701, MX702], [LoadFailed, VmStartFailed]);

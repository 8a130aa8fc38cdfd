//! MX705: the module looks for its root context under another id than `<name>_root`.

super::runtime_unit!(RootId, [MX705], [RootIdMismatch]);

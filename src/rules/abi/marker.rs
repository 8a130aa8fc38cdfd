//! MX501 (no `proxy_abi_version_*` marker) and MX502 (no marker the proxy accepts): the proxy
//! refuses to load the module, so these are reported alone.

super::abi_unit!(Marker, [MX501, MX502], [MissingMarker, MarkerNotAccepted]);

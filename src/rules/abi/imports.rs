//! MX503–MX506: imports the proxy does not provide, provides with another signature or for
//! another ABI version, and WASI imports it lacks or stubs.

super::abi_unit!(
    Imports,
    [MX503, MX504, MX505, MX506],
    [
        ImportNotProvided,
        ImportSignatureMismatch,
        ImportFromOtherAbi,
        WasiUnavailable
    ]
);

//! MX507 (a required export is missing) and MX508 (a callback export has the wrong signature).

super::abi_unit!(
    Exports,
    [MX507, MX508],
    [RequiredExportMissing, CallbackSignatureMismatch]
);

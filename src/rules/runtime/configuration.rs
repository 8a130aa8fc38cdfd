//! MX703 (`proxy_on_configure` rejects the configuration) and MX704 (it traps on it).

super::runtime_unit!(
    Configuration,
    [MX703, MX704],
    [ConfigurationRejected, ConfigurationPanics]
);

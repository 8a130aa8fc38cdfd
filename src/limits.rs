//! The run's resource budgets (issue 16), one registry so that every bound listed in
//! `docs/limits.md` can be overridden by `--limit NAME=VALUE` or the config's `limits:` map.
//!
//! A budget is read where it is enforced (`limits::get(Limit::YamlDepth)`); the CLI sets the
//! overrides once, before any input is read (config first, then flags). Values are process-wide:
//! one run of the binary is one set of budgets.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

macro_rules! limits {
    ($($var:ident $name:literal $default:expr, $doc:literal;)*) => {
        /// A named budget.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Limit { $($var,)* }

        /// Every budget: (limit, name, default, what it bounds).
        pub const ALL: &[(Limit, &str, u64, &str)] = &[$((Limit::$var, $name, $default, $doc),)*];

        #[allow(clippy::declare_interior_mutable_const)]
        const INIT: AtomicU64 = AtomicU64::new(u64::MAX);
        static VALUES: [AtomicU64; ALL.len()] = [INIT; ALL.len()];
        #[allow(clippy::declare_interior_mutable_const)]
        const UNSET: AtomicBool = AtomicBool::new(false);
        /// Set by a flag: the config file does not override it.
        static FROM_FLAG: [AtomicBool; ALL.len()] = [UNSET; ALL.len()];
    };
}

limits! {
    InputBytes "input-bytes" 64 << 20, "bytes of one lint input file (more is MX101)";
    ConfigBytes "config-bytes" 1 << 20, "bytes of the configuration file";
    BaselineBytes "baseline-bytes" 64 << 20, "bytes of the baseline file";
    ScenarioBytes "scenario-bytes" 16 << 20, "bytes of a simulate --scenario file";
    PluginConfigBytes "plugin-config-bytes" 16 << 20, "bytes of simulate --config / --vm-config @FILE";
    ModuleBytes "module-bytes" 256 << 20, "bytes of a module file and of an image blob";
    YamlDepth "yaml-depth" 200, "nesting of YAML collections, alias expansions included";
    YamlDocumentNodes "yaml-document-nodes" 2_000_000, "YAML nodes of one document, alias expansions included";
    YamlFileNodes "yaml-file-nodes" 2_000_000, "YAML nodes of one file (all its documents)";
    YamlFileBytes "yaml-file-bytes" 64 << 20, "scalar bytes of one YAML file, alias expansions included";
    YamlRunNodes "yaml-run-nodes" 4_000_000, "YAML nodes of all files of the run";
    YamlRunBytes "yaml-run-bytes" 256 << 20, "scalar bytes of all YAML of the run";
    ScenarioDepth "scenario-depth" 64, "nesting of a scenario file";
    ScenarioNodes "scenario-nodes" 2_000_000, "YAML nodes of a scenario file (a 10,000-request scenario has ~250,000)";
    ImageJsonBytes "image-json-bytes" 4 << 20, "bytes of a JSON document of an image (index, manifest, config)";
    ImageUncompressedBytes "image-uncompressed-bytes" 256 << 20, "uncompressed layer bytes of one image, all layers";
    ImageFiles "image-files" 100_000, "entries of one layer, and of the merged filesystem of one image";
    ImageLayers "image-layers" 128, "layers of one image manifest";
    ImagePathBytes "image-path-bytes" 4096, "bytes of one path in a layer (PATH_MAX)";
    ImageTarHeaderBytes "image-tar-header-bytes" 1 << 20, "bytes of one tar extension header (GNU long name, PAX)";
    ImageIndexDepth "image-index-depth" 4, "nested image indexes followed";
    ImagesPerSource "images-per-source" 10_000, "images one --images source lists";
    ArchiveEntries "archive-entries" 200_000, "entries of an --images archive (tar) indexed";
    ImagesTotalBytes "images-total-bytes" 512 << 20, "distinct file content held for all images of the run";
    SnippetWidth "snippet-width" 160, "characters of a source line shown in a human-format snippet";
    FuelPerRequest "fuel-per-request" 2_000_000_000, "simulator fuel over all calls of one request (hostcalls included)";
    FuelPerAdvance "fuel-per-advance" 2_000_000_000, "simulator fuel over all ticks, queue events and callouts of one advance";
    FuelPerRun "fuel-per-run" 10_000_000_000, "simulator fuel over a whole run (each module start-up of lint)";
    VmMemoryTotalBytes "vm-memory-total-bytes" 2 << 30, "linear memory of all Wasm VMs alive in the process";
    HostCallDepth "host-call-depth" 8, "module calls nested inside hostcalls (malloc -> hostcall -> malloc)";
    HeaderMapEntries "header-map-entries" 10_000, "entries of one header or trailer map a module grows";
    HeaderMapBytes "header-map-bytes" 1 << 20, "bytes of one header or trailer map a module grows";
    BodyBytes "body-bytes" 16 << 20, "bytes of one body buffer a module sets";
    Properties "properties" 10_000, "properties a module sets on one stream";
    PropertyBytes "property-bytes" 16 << 20, "bytes of the properties a module sets on one stream";
    PendingEffects "pending-effects" 10_000, "pending actions (local replies, callouts) of one callback";
    PendingEffectBytes "pending-effect-bytes" 16 << 20, "bytes of the pending actions of one callback";
    Metrics "metrics" 10_000, "metric definitions per VM";
    MetricIds "metric-ids" 100_000, "metric ids handed out per VM";
    MetricNameBytes "metric-name-bytes" 4096, "bytes of one metric name";
    HistogramSamples "histogram-samples" 10_000, "histogram samples kept per metric";
    LogLines "log-lines" 10_000, "log lines a VM buffers between drains (oldest dropped)";
    LogLineBytes "log-line-bytes" 16 * 1024, "bytes of one log line (the rest is cut)";
    LogBytes "log-bytes" 4 << 20, "bytes of the log lines a VM buffers";
    RunLogBytes "run-log-bytes" 64 << 20, "log bytes kept in the trace over a run";
    Iovecs "iovecs" 1024, "iovecs of one fd_write (more is EINVAL)";
    TicksPerAdvance "ticks-per-advance" 10_000, "ticks one advance fires";
    SharedDataBytes "shared-data-bytes" 64 << 20, "bytes of all keys and values of the simulator's shared data";
}

/// The current value of `l`.
pub fn get(l: Limit) -> u64 {
    match VALUES[l as usize].load(Ordering::Relaxed) {
        u64::MAX => ALL[l as usize].2,
        v => v,
    }
}

/// `get` as a `usize` (saturating on 32-bit targets).
pub fn get_usize(l: Limit) -> usize {
    usize::try_from(get(l)).unwrap_or(usize::MAX)
}

/// The budget named `name`.
pub fn by_name(name: &str) -> Option<Limit> {
    ALL.iter().find(|(_, n, _, _)| *n == name).map(|(l, ..)| *l)
}

/// The names, for error messages.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|(_, n, _, _)| *n).collect()
}

/// Sets `l` for the rest of the run.
pub fn set(l: Limit, value: u64) {
    VALUES[l as usize].store(value.min(u64::MAX - 1), Ordering::Relaxed);
}

/// Sets `l` from `--limit`: it wins over the config file.
pub fn set_from_flag(l: Limit, value: u64) {
    FROM_FLAG[l as usize].store(true, Ordering::Relaxed);
    set(l, value);
}

/// Sets `l` from the config file's `limits:`, unless a flag set it.
pub fn set_from_config(l: Limit, value: u64) {
    if !FROM_FLAG[l as usize].load(Ordering::Relaxed) {
        set(l, value);
    }
}

/// `1000`, `64KiB`, `16MiB`, `1GiB` (also `K`/`M`/`G`, binary): a positive integer.
pub fn parse_value(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("`{text}` is not a positive integer"));
    }
    let mult: u64 = match unit.trim() {
        "" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        u => {
            return Err(format!(
                "unknown unit `{u}` in `{text}` (use KiB, MiB or GiB)"
            ))
        }
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a positive integer"))?;
    match n.checked_mul(mult) {
        Some(v) if v > 0 && v < u64::MAX => Ok(v),
        Some(_) => Err(format!("`{text}`: a limit must be at least 1")),
        None => Err(format!("`{text}` is too large")),
    }
}

/// Parses `NAME=VALUE` (the `--limit` flag) into a limit and its value.
pub fn parse_assignment(text: &str) -> Result<(Limit, u64), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected NAME=VALUE"))?;
    let l = by_name(name.trim()).ok_or_else(|| unknown(name.trim()))?;
    Ok((l, parse_value(value)?))
}

/// The error for an unknown budget name.
pub fn unknown(name: &str) -> String {
    format!(
        "unknown limit `{name}`; the limits are {}",
        names().join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_names() {
        assert_eq!(parse_value("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_value("2_000").unwrap(), 2000);
        assert!(parse_value("0").is_err());
        assert!(parse_value("1TB").is_err());
        assert!(parse_assignment("nope=1")
            .unwrap_err()
            .contains("yaml-depth"));
        let (l, v) = parse_assignment("yaml-depth=10").unwrap();
        assert_eq!((l, v), (Limit::YamlDepth, 10));
        for (i, (l, ..)) in ALL.iter().enumerate() {
            assert_eq!(*l as usize, i);
        }
    }
}

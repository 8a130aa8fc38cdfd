//! MX312–MX314: a WasmPlugin's `url` and `sha256`, as the release's webhook, istiod and the
//! istio-agent read them (istio/istio `pkg/config/validation/validation.go`
//! `validateWasmPluginURL` / `strictParseURL` / `validateWasmPluginSHA`,
//! `pilot/pkg/model/extensions.go` `buildDataSource`, `pkg/wasm/cache.go` `getOrFetch`).

use super::wasm_plugin::{self as wp, istio};
use crate::diag::Diagnostic;
use crate::model::{IstioVersion, WasmPlugin};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct WasmPluginUrl;

impl Unit for WasmPluginUrl {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX312, RuleId::MX313, RuleId::MX314]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let Some(v) = wp::release(facts.mesh) else {
            return;
        };
        let label = wp::label(facts.mesh, v);
        for p in &facts.mesh.wasm_plugins {
            // An empty or missing url is the schema's (MX103: required, minLength).
            let Some(url) = p.url.as_deref().filter(|u| !u.is_empty()) else {
                continue;
            };
            let scheme = url_problem(p, url, v, &label, out);
            sha256(p, url, scheme.as_deref(), &label, out);
            if let Some(s) = scheme {
                non_oci(p, url, &s, v, out);
            }
        }
    }
}

/// The schemes the webhook accepts ("" is read as `oci`).
const SCHEMES: [&str; 5] = ["", "oci", "file", "http", "https"];

/// MX312. Returns the scheme istiod uses when the URL gets that far.
fn url_problem(
    p: &WasmPlugin,
    url: &str,
    v: IstioVersion,
    label: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<String> {
    let d = |msg: String, help: &str| {
        Diagnostic::new(RuleId::MX312, msg)
            .at(p.meta.loc("/spec/url"))
            .resource(p.meta.display())
            .help(help.to_string())
    };
    let colon_help =
        "a registry with a port needs an explicit scheme: write `oci://registry:5000/…`";
    // Admission: the webhook (url.Parse before 1.23, strictParseURL from 1.23) and, from 1.20,
    // the CRD's CEL rule (ParseRequestURI, retried with http://).
    let admitted = if v >= istio(23) {
        strict_parse(url)
    } else {
        go_url::parse(url, false).map_err(|e| format!("failed to parse url: parse {url:?}: {e}"))
    };
    let admitted = admitted.and_then(|scheme| {
        if SCHEMES.contains(&scheme.as_str()) {
            Ok(scheme)
        } else {
            Err(format!("url contains unsupported scheme: {scheme}"))
        }
    });
    let cel_ok = v < istio(20) || strict_parse(url).is_ok_and(|s| SCHEMES.contains(&s.as_str()));
    match admitted {
        Err(e) => {
            let help = if e.contains("unsupported scheme") || e.contains("colon") {
                colon_help
            } else {
                "fix the URL: oci://registry/repository:tag, https://host/path.wasm or file:///path.wasm"
            };
            out.push(d(format!("{label} rejects the url: \"{e}\""), help));
            return None;
        }
        Ok(_) if !cel_ok => {
            out.push(d(
                format!("{label} rejects the url: \"url must have schema one of [http, https, file, oci]\" (CRD rule)"),
                colon_help,
            ));
            return None;
        }
        Ok(_) => {}
    }
    // istiod itself reads the URL with url.Parse; a URL only the strict parser accepts is
    // admitted and then discarded ("wasmplugin … discarded due to failure to parse URL").
    match go_url::parse(url, false) {
        Ok(s) => Some(if s.is_empty() { "oci".into() } else { s }),
        Err(e) => {
            out.push(d(
                format!("{label} admits the url, but istiod cannot parse it ({e}) and drops the plugin: it never reaches a proxy"),
                colon_help,
            ));
            None
        }
    }
}

/// The scheme istiod gives the URL (`pilot/pkg/model/extensions.go`: url.Parse, "" → `oci`), or
/// `None` when it cannot parse it (MX312).
pub(super) fn scheme_of(url: &str) -> Option<String> {
    go_url::parse(url, false)
        .ok()
        .map(|s| if s.is_empty() { "oci".into() } else { s })
}

/// istio's `strictParseURL` (1.23+), also what the CRD's CEL rule does: the scheme, or the error.
fn strict_parse(url: &str) -> Result<String, String> {
    match go_url::parse(url, true) {
        Ok(s) => go_url::parse(url, false)
            .map(|_| s)
            .map_err(|e| format!("failed to strict parse url: parse {url:?}: {e}")),
        Err(e) => {
            let with = format!("http://{url}");
            match go_url::parse(&with, true) {
                Err(_) => Err(format!("failed to parse url: parse {url:?}: {e}")),
                Ok(s) => go_url::parse(&with, false)
                    .map(|_| s)
                    .map_err(|e| format!("failed to strict parse url: parse {with:?}: {e}")),
            }
        }
    }
}

/// MX313: the checksum's format (`validateWasmPluginSHA`, every release; the CRD pattern from
/// 1.20), and a checksum that contradicts the digest in an OCI URL.
fn sha256(p: &WasmPlugin, url: &str, scheme: Option<&str>, label: &str, out: &mut Vec<Diagnostic>) {
    let Some(sha) = p.sha256.as_deref().filter(|s| !s.is_empty()) else {
        return;
    };
    let d = |msg: String, help: String| {
        Diagnostic::new(RuleId::MX313, msg)
            .at(p.meta.loc("/spec/sha256"))
            .resource(p.meta.display())
            .help(help)
    };
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let problem = if sha.len() != 64 {
        Some("sha256 field must be 64 characters long")
    } else if !hex(sha) {
        Some("sha256 field must match [a-f0-9]{64} pattern")
    } else {
        None
    };
    if let Some(problem) = problem {
        let bare = sha
            .strip_prefix("sha256:")
            .unwrap_or(sha)
            .to_ascii_lowercase();
        let help = if bare.len() == 64 && hex(&bare) && bare != sha {
            format!("write the bare lowercase hex digest: `sha256: {bare}`")
        } else {
            "give the 64 lowercase hex characters of the digest, or remove `sha256`".into()
        };
        out.push(d(
            format!("{label} rejects the WasmPlugin: \"{problem}\""),
            help,
        ));
        return;
    }
    if scheme != Some("oci") {
        return;
    }
    let digest = url
        .rsplit_once("@sha256:")
        .map(|(_, d)| d)
        .filter(|d| d.len() == 64 && hex(d));
    if let Some(digest) = digest.filter(|d| *d != sha) {
        out.push(d(
            format!("`sha256` differs from the digest the url pins (`@sha256:{}…`): the agent fetches that manifest and fails the checksum comparison (\"module downloaded from … has checksum …, which does not match\"), so the plugin never loads", &digest[..12]),
            "for an OCI url the checksum is the image manifest digest: remove `sha256` (the url's digest is used) or make them equal".into(),
        ));
    }
}

/// MX314: modules that are not pulled from a registry.
fn non_oci(p: &WasmPlugin, url: &str, scheme: &str, v: IstioVersion, out: &mut Vec<Diagnostic>) {
    let (msg, help) = match scheme {
        "file" => {
            // buildDataSource: the filename is the URL without its `file://` prefix.
            let path = url.strip_prefix("file://").unwrap_or(url);
            let relative = if path.starts_with('/') {
                String::new()
            } else {
                " (a relative path: it is resolved against Envoy's working directory)".into()
            };
            (
                format!("`file://` is not fetched: Envoy reads `{path}` from each selected proxy's own file system{relative}, and the linter cannot see the module"),
                "mount the module into every selected istio-proxy container, or publish it as an OCI image",
            )
        }
        "http" | "https" => {
            let mut msg = format!("`{scheme}://` modules are downloaded by the istio-agent of every selected proxy: each pod needs egress to this host, and the linter cannot see the module");
            if p.sha256.as_deref().unwrap_or("").is_empty() {
                msg.push_str(if scheme == "http" {
                    "; over plain HTTP and without `sha256` nothing verifies what is loaded"
                } else {
                    "; without `sha256` nothing pins which build is loaded"
                });
                if v < istio(14) {
                    msg.push_str(" (Istio 1.12 caches by checksum only, so it downloads again on every configuration push)");
                }
            }
            (
                msg,
                "publish the module as an OCI image (pulled through the registry, `--images` can check it), or set `sha256` to the module's SHA-256",
            )
        }
        _ => return,
    };
    out.push(
        Diagnostic::new(RuleId::MX314, msg)
            .at(p.meta.loc("/spec/url"))
            .resource(p.meta.display())
            .help(help),
    );
}

/// Go's `net/url` parser, as far as validation needs it: `url.Parse` (`via_request` false) and
/// `url.ParseRequestURI` (true) → the lower-cased scheme, or Go's error text (without the
/// `parse "…": ` prefix). Go 1.22 `net/url/url.go` `parse`, `getScheme`, `parseAuthority`,
/// `parseHost`, `unescape`.
mod go_url {
    pub(super) fn parse(raw: &str, via_request: bool) -> Result<String, String> {
        let (raw, frag) = if via_request {
            (raw, None)
        } else {
            match raw.split_once('#') {
                Some((u, f)) => (u, Some(f)),
                None => (raw, None),
            }
        };
        if raw.bytes().any(|b| b < 0x20 || b == 0x7f)
            || frag.is_some_and(|f| f.bytes().any(|b| b < 0x20 || b == 0x7f))
        {
            return Err("net/url: invalid control character in URL".into());
        }
        if raw.is_empty() && via_request {
            return Err("empty url".into());
        }
        if raw == "*" {
            return Ok(String::new());
        }
        let (scheme, rest) = scheme(raw)?;
        let scheme = scheme.to_ascii_lowercase();
        let rest = match rest.strip_suffix('?') {
            Some(r) if rest.matches('?').count() == 1 => r,
            _ => rest.split_once('?').map_or(rest, |(r, _)| r),
        };
        if !rest.starts_with('/') {
            if !scheme.is_empty() {
                return Ok(scheme); // opaque
            }
            if via_request {
                return Err("invalid URI for request".into());
            }
            if rest.split('/').next().is_some_and(|s| s.contains(':')) {
                return Err("first path segment in URL cannot contain colon".into());
            }
        }
        let mut path = rest;
        if (!scheme.is_empty() || !via_request && !rest.starts_with("///"))
            && rest.starts_with("//")
        {
            let after = &rest[2..];
            let (authority, p) = match after.find('/') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            };
            path = p;
            authority_ok(authority)?;
        }
        unescape(path, false)?;
        if let Some(f) = frag {
            unescape(f, false)?;
        }
        Ok(scheme)
    }

    fn scheme(raw: &str) -> Result<(&str, &str), String> {
        for (i, c) in raw.bytes().enumerate() {
            match c {
                b'a'..=b'z' | b'A'..=b'Z' => {}
                b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
                b':' if i == 0 => return Err("missing protocol scheme".into()),
                b':' => return Ok((&raw[..i], &raw[i + 1..])),
                _ => return Ok(("", raw)),
            }
        }
        Ok(("", raw))
    }

    fn authority_ok(authority: &str) -> Result<(), String> {
        let host = match authority.rfind('@') {
            Some(i) => {
                let user = &authority[..i];
                let ok = user
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b));
                if !ok {
                    return Err("net/url: invalid userinfo".into());
                }
                unescape(user, false)?;
                &authority[i + 1..]
            }
            None => authority,
        };
        if let Some(inner) = host.strip_prefix('[') {
            let Some(end) = inner.find(']') else {
                return Err("missing ']' in host".into());
            };
            let port = &inner[end + 1..];
            if !port_ok(port) {
                return Err(format!("invalid port {port:?} after host"));
            }
        } else if let Some(i) = host.rfind(':') {
            if !port_ok(&host[i..]) {
                return Err(format!("invalid port {:?} after host", &host[i..]));
            }
        }
        unescape(host, true)
    }

    fn port_ok(port: &str) -> bool {
        port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    }

    /// Percent escapes must be two hex digits; in a host, characters Go would escape are invalid.
    fn unescape(s: &str, host: bool) -> Result<(), String> {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let ok =
                    b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
                if !ok {
                    let end = (i + 3).min(b.len());
                    return Err(format!("invalid URL escape {:?}", &s[i..end]));
                }
                i += 3;
                continue;
            }
            let c = b[i];
            if host
                && c < 0x80
                && !c.is_ascii_alphanumeric()
                && !b"!$&'()*+,;=:[]<>\"-_.~".contains(&c)
            {
                return Err(format!(
                    "invalid character {:?} in host name",
                    (c as char).to_string()
                ));
            }
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture::positions;
    use crate::rules::resources::wasm_plugin::support::{on_istio, on_ossm};

    fn plugin(url: &str, extra: &str) -> String {
        format!("apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: auth, namespace: shop}}\nspec:\n  url: '{url}'\n{extra}")
    }
    fn istio(url: &str, extra: &str, release: &str) -> Vec<Diagnostic> {
        on_istio(&WasmPluginUrl, &plugin(url, extra), release)
    }

    #[test]
    fn go_parses_like_go() {
        use go_url::parse;
        assert_eq!(parse("quay.io/acme/auth:1", false), Ok(String::new()));
        assert_eq!(parse("registry:5000/x:1", false), Ok("registry".into()));
        assert_eq!(parse("OCI://quay.io/x", false), Ok("oci".into()));
        assert_eq!(
            parse("10.0.0.1:5000/x", false),
            Err("first path segment in URL cannot contain colon".into())
        );
        assert_eq!(parse(":x", false), Err("missing protocol scheme".into()));
        assert_eq!(
            parse("quay.io/acme/auth:1", true),
            Err("invalid URI for request".into())
        );
        assert_eq!(
            parse("oci://host:port/x", false),
            Err("invalid port \":port\" after host".into())
        );
        assert_eq!(
            parse("oci://ho st/x", false),
            Err("invalid character \" \" in host name".into())
        );
        assert_eq!(
            parse("https://h/a%zz", false),
            Err("invalid URL escape \"%zz\"".into())
        );
        assert!(parse("file:///opt/p.wasm", true).is_ok());
    }

    #[test]
    fn a_registry_port_without_scheme_is_an_unknown_scheme() {
        let d = on_ossm(
            &WasmPluginUrl,
            &plugin("registry:5000/acme/auth:1", ""),
            "v2.2",
        );
        assert_eq!(positions(&d), ["MX312 5:8"]);
        assert!(
            d[0].message
                .contains("\"url contains unsupported scheme: registry\""),
            "{}",
            d[0].message
        );
        assert!(d[0]
            .help
            .as_deref()
            .unwrap()
            .contains("oci://registry:5000"));
        assert!(istio("oci://registry:5000/acme/auth:1", "", "1.29").is_empty());
        assert!(istio("quay.io/acme/auth:1", "", "1.12").is_empty());
        assert!(istio("quay.io/acme/auth:1", "", "1.29").is_empty());
        assert_eq!(istio("ftp://h/p.wasm", "", "1.29").len(), 1);
    }

    #[test]
    fn an_ip_registry_without_scheme_depends_on_the_release() {
        // url.Parse fails before 1.23: rejected.
        let d = istio("10.0.0.1:5000/auth:1", "", "1.22");
        assert!(
            d[0].message
                .contains("rejects the url: \"failed to parse url"),
            "{}",
            d[0].message
        );
        // strictParseURL retries with http:// from 1.23: admitted, then dropped by istiod.
        let d = istio("10.0.0.1:5000/auth:1", "", "1.23");
        assert!(
            d[0].message
                .contains("admits the url, but istiod cannot parse it"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn sha256_format_and_digest() {
        let hex = "ab".repeat(32);
        let d = istio(
            "oci://q.io/a:1",
            &format!("  sha256: 'sha256:{hex}'\n"),
            "1.20",
        );
        assert_eq!(positions(&d), ["MX313 6:11"]);
        assert!(d[0].message.contains("must be 64 characters long"));
        assert_eq!(
            d[0].help.as_deref(),
            Some(format!("write the bare lowercase hex digest: `sha256: {hex}`").as_str())
        );
        let upper = hex.to_uppercase();
        let d = istio("oci://q.io/a:1", &format!("  sha256: {upper}\n"), "1.12");
        assert!(d[0].message.contains("must match [a-f0-9]{64} pattern"));
        let other = "cd".repeat(32);
        let d = istio(
            &format!("oci://q.io/a@sha256:{other}"),
            &format!("  sha256: {hex}\n"),
            "1.24",
        );
        assert_eq!(positions(&d), ["MX313 6:11"]);
        assert!(istio(
            &format!("oci://q.io/a@sha256:{hex}"),
            &format!("  sha256: {hex}\n"),
            "1.24"
        )
        .is_empty());
        // An https module's sha256 is the module's own: nothing to compare statically.
        assert!(!istio(
            &format!("https://h/a@sha256:{other}"),
            &format!("  sha256: {hex}\n"),
            "1.24"
        )
        .iter()
        .any(|d| d.rule == RuleId::MX313));
    }

    #[test]
    fn file_and_http_sources() {
        let d = istio("file:///opt/p.wasm", "", "1.20");
        assert_eq!(positions(&d), ["MX314 5:8"]);
        assert!(
            d[0].message.contains("reads `/opt/p.wasm`"),
            "{}",
            d[0].message
        );
        let d = istio("file://opt/p.wasm", "", "1.20");
        assert!(d[0].message.contains("relative path"));
        let d = istio("http://h/p.wasm", "", "1.12");
        assert!(
            d[0].message.contains("plain HTTP")
                && d[0].message.contains("every configuration push"),
            "{}",
            d[0].message
        );
        assert!(istio("oci://q.io/a:1", "", "1.20").is_empty());
    }
}

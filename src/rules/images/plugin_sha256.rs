//! MX408: a WasmPlugin's expected checksum does not match what istio-agent compares it with.
//! For `oci://` that is the digest of the image manifest the fetcher reads (`img.Digest().Hex`:
//! the linux/amd64 manifest of an index), not the sha256 of `plugin.wasm`: 1.12
//! `ImageFetcher.Fetch` (`errWasmOCIImageDigestMismatch`), 1.14+ `LocalFileCache.getOrFetch`.
//! From 1.14 (OSSM 2.3) a `@sha256:` digest in the URL is the expected checksum when `sha256`
//! is empty (`getEntry`), so a URL pinning an image index fails there too.

use super::fetch_failure_effect;
use crate::diag::Diagnostic;
use crate::extensions::oci_reference;
use crate::image::sha256_hex;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct PluginSha256;

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Unit for PluginSha256 {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX408]
    }
    fn stage(&self) -> Stage {
        Stage::Images
    }
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let res = &facts.resolution.plugins;
        let Some(fetcher) = res.fetcher else { return };
        for (i, p) in facts.mesh.wasm_plugins.iter().enumerate() {
            let Some(Some(a)) = res.by_plugin.get(i) else {
                continue;
            };
            // The registry's manifest digest is unknown for docker-archives and directories.
            let Some(actual) = a.fetch.manifest_digest.as_deref() else {
                continue;
            };
            if a.fetch.other_child.is_some() {
                continue;
            }
            let field = p.sha256.as_deref().map(str::trim).filter(|s| !s.is_empty());
            let url_digest = p
                .url
                .as_deref()
                .and_then(oci_reference)
                .and_then(|r| r.split_once("@sha256:").map(|(_, d)| d.to_string()));
            let (expected, ptr, what) = match (field, &url_digest) {
                (Some(s), _) => (s.to_string(), "/spec/sha256", "`sha256`"),
                (None, Some(d)) if fetcher.url_digest_is_checksum => {
                    (d.clone(), "/spec/url", "the digest in `url`")
                }
                _ => continue,
            };
            // A malformed value is the schema's finding; the comparison needs 64 hex digits.
            if !is_hex64(&expected) || expected == actual {
                continue;
            }
            let module_sha = a.fetch.module.as_deref().map(sha256_hex);
            let index = a
                .image
                .index_digest
                .as_deref()
                .and_then(|d| d.strip_prefix("sha256:"));
            let why = if module_sha.as_deref() == Some(expected.as_str()) {
                " — it is the sha256 of plugin.wasm, but for oci:// images istio-agent compares the image manifest digest"
            } else if index == Some(expected.as_str()) {
                " — it is the digest of the image index; istio-agent resolves the linux/amd64 manifest and compares that one's digest"
            } else {
                ""
            };
            let help = if index == Some(expected.as_str()) && what == "the digest in `url`" {
                format!("Pin the platform manifest instead of the index (`@sha256:{actual}`), or set `sha256: {actual}`.")
            } else {
                format!("Set `sha256: {actual}` (the manifest digest `skopeo inspect` shows as `Digest`), or remove it to accept any image under the reference.")
            };
            out.push(
                Diagnostic::new(
                    RuleId::MX408,
                    format!(
                        "{what} is {expected}, but image `{}` has manifest digest {actual}{why}: the fetch fails with a checksum mismatch; {}",
                        a.reference,
                        fetch_failure_effect(facts.mesh, p)
                    ),
                )
                .at(p.meta.loc(ptr))
                .resource(p.meta.display())
                .help(help),
            );
        }
    }
}

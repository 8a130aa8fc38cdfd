//! Image references as the OSSM extension cacher accepts them (`StringToImageRef`, maistra 2.1+),
//! plus the normalisation used to match references against names stored in image sources.

use std::fmt;

/// A parsed SME `spec.image`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Everything before the last `/` of the name (`quay.io/acme`, `registry:5000/org`).
    pub hub: String,
    /// The last path segment of the name (`ext`).
    pub repository: String,
    /// The tag, when the reference has one (a digest reference may carry one too).
    pub tag: Option<String>,
    /// `sha256:<64 hex>` for `…@sha256:` references.
    pub digest: Option<String>,
}

impl ImageRef {
    /// `hub/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.hub, self.repository)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn is_lower_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses a reference with the cacher's grammar (maistra `mec/pkg/model/types.go`):
/// - with `@`: the 7 characters after `@` are skipped unchecked and the rest must be exactly 64
///   lowercase hex digits (we report a non-`sha256:` algorithm as an error anyway: the cacher
///   would look the image up by a digest that cannot exist);
/// - otherwise 2 `:`-separated parts, or 3 when the first `:` is a registry port: a tag is
///   mandatory;
/// - the name must contain a `/` (hub = before the last `/`).
///
/// The error text says what is wrong, for MX303.
pub fn parse_reference(s: &str) -> Result<ImageRef, String> {
    let (uri, tag, digest) = if let Some(at) = s.find('@') {
        let after = &s[at + 1..];
        let hex = after.get(7..).unwrap_or("");
        if !is_lower_hex64(hex) {
            return Err(format!(
                "the digest after `@` must be `sha256:` followed by exactly 64 lowercase hex digits, got `{after}`"
            ));
        }
        if !after.starts_with("sha256:") {
            return Err(format!("only sha256 digests are supported, got `{after}`"));
        }
        // The cacher keeps `name:tag` as the uri; split the tag off for matching.
        let uri = &s[..at];
        let (name, tag) = split_tag(uri);
        (name, tag, Some(format!("sha256:{hex}")))
    } else {
        let parts: Vec<&str> = s.split(':').collect();
        match parts.len() {
            1 => return Err("a tag is required (`…:1.0`) or a digest (`…@sha256:…`)".into()),
            2 => (parts[0], Some(parts[1].to_string()), None),
            // `registry:port/path:tag`: the first `:` must be a port, followed by a path.
            3 if parts[1].contains('/') => (
                &s[..parts[0].len() + 1 + parts[1].len()],
                Some(parts[2].to_string()),
                None,
            ),
            _ => return Err("too many `:` in the reference".into()),
        }
    };
    if tag
        .as_deref()
        .is_some_and(|t| t.is_empty() || t.contains('/'))
    {
        return Err("the tag after `:` is empty or malformed".into());
    }
    let Some(slash) = uri.rfind('/') else {
        return Err(format!(
            "the image name `{uri}` must include a registry or organisation (`quay.io/org/{uri}`)"
        ));
    };
    if slash == 0 || slash + 1 == uri.len() || s.trim() != s {
        return Err(format!(
            "the image name `{uri}` has an empty segment or surrounding white space"
        ));
    }
    Ok(ImageRef {
        hub: uri[..slash].to_string(),
        repository: uri[slash + 1..].to_string(),
        tag,
        digest,
    })
}

/// Splits `name:tag` where the last `:` is after the last `/` (so a registry port is not a tag).
fn split_tag(uri: &str) -> (&str, Option<String>) {
    match uri.rfind(':') {
        Some(c) if uri.rfind('/').is_none_or(|sl| c > sl) => {
            (&uri[..c], Some(uri[c + 1..].to_string()))
        }
        _ => (uri, None),
    }
}

/// Normalises a name as stored in image sources (`RepoTags`, `ref.name`, `image.name`) or
/// written in an SME so they compare equal: Docker's short forms are expanded
/// (`nginx:1` → `docker.io/library/nginx:1`, `index.docker.io/x/y` → `docker.io/x/y`), and
/// a missing tag becomes `latest` (as docker and skopeo do).
pub fn normalize(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    let (name, tag) = split_tag(name);
    let mut name = name.to_string();
    let first = name.split('/').next().unwrap_or("");
    let has_registry =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if !has_registry {
        name = if name.contains('/') {
            format!("docker.io/{name}")
        } else {
            format!("docker.io/library/{name}")
        };
    } else if let Some(rest) = name.strip_prefix("index.docker.io/") {
        name = format!("docker.io/{rest}");
    }
    let mut out = name;
    match (tag, digest) {
        (Some(t), _) => {
            out.push(':');
            out.push_str(&t);
        }
        (None, None) => out.push_str(":latest"),
        (None, Some(_)) => {}
    }
    if let Some(d) = digest {
        out.push('@');
        out.push_str(d);
    }
    out
}

/// True for an OCI `ref.name` that is only a tag (`1.0`), as `skopeo copy … oci:DIR:1.0` and
/// `docker save` (v25+) write.
pub fn is_tag_only(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.contains(['/', ':', '@'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn accepts_the_cacher_examples() {
        let r = parse_reference("registry.io/corp/repo:latest").unwrap();
        assert_eq!(
            (r.hub.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("registry.io/corp", "repo", Some("latest"))
        );
        let r = parse_reference("registry.io:8080/corp/repo:latest").unwrap();
        assert_eq!(r.hub, "registry.io:8080/corp");
        let r = parse_reference(&format!("registry.io/corp/repo@sha256:{HEX}")).unwrap();
        assert_eq!(r.digest.as_deref(), Some(format!("sha256:{HEX}").as_str()));
        assert_eq!(r.tag, None);
        let r = parse_reference(&format!("registry.io:5000/corp/repo:1.0@sha256:{HEX}")).unwrap();
        assert_eq!(
            (r.repository.as_str(), r.tag.as_deref()),
            ("repo", Some("1.0"))
        );
    }

    #[test]
    fn rejects_what_the_cacher_rejects() {
        for bad in [
            "quay.io/x/y",
            "repo:tag",
            "a:b:c:d",
            "quay.io/x/y@sha256:abc",
            &format!("quay.io/x/y@sha256:{}", HEX.to_uppercase()),
            &format!("quay.io/x/y@sha256:{HEX}0"),
            "",
            "@",
        ] {
            assert!(parse_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn normalizes_docker_short_names() {
        assert_eq!(normalize("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(normalize("acme/ext:1"), "docker.io/acme/ext:1");
        assert_eq!(
            normalize("index.docker.io/acme/ext:1"),
            "docker.io/acme/ext:1"
        );
        assert_eq!(normalize("quay.io/acme/ext:1.0"), "quay.io/acme/ext:1.0");
        assert_eq!(normalize("localhost:5000/ext:1"), "localhost:5000/ext:1");
        assert!(is_tag_only("1.0") && !is_tag_only("quay.io/a/b:1.0"));
    }
}

#[cfg(test)]
mod cacher_grammar {
    use super::parse_reference;

    #[test]
    fn accepts_what_the_cacher_accepts() {
        let hex = "a".repeat(64);
        for ok in [
            "registry.io/corp/repo:latest".to_string(),
            "registry.io:8080/corp/repo:1.0".to_string(),
            format!("registry.io/corp/repo@sha256:{hex}"),
        ] {
            assert!(parse_reference(&ok).is_ok(), "{ok}");
        }
        let r = parse_reference("registry.io:8080/corp/repo:1.0").unwrap();
        assert_eq!(
            (r.hub.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("registry.io:8080/corp", "repo", Some("1.0"))
        );
    }

    #[test]
    fn rejects_what_the_cacher_rejects() {
        for bad in [
            "quay.io/x/y".to_string(),
            "repo:tag".to_string(),
            format!("quay.io/x/y@sha256:{}", "A".repeat(64)),
            "quay.io/x/y@sha256:abc".to_string(),
            "a:b:c:d".to_string(),
            "a:b:c".to_string(),
            "quay.io/x/y:".to_string(),
            "/y:1".to_string(),
            " quay.io/x/y:1".to_string(),
            String::new(),
        ] {
            assert!(parse_reference(&bad).is_err(), "{bad}");
        }
    }
}

//! The image-reference grammar the Maistra cacher accepts for `spec.image`
//! (`mec` `StringToImageRef`): a tag or a 64-hex digest is mandatory, and the path needs a `/`.

/// A parsed reference: `hub/repository:tag` or `hub/repository@sha256:<hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Everything before the last `/` of the path (registry and organisation).
    pub hub: String,
    pub repository: String,
    pub tag: Option<String>,
    /// The 64 hex characters after `@sha256:`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// The reference without tag or digest (`quay.io/acme/ext`).
    pub fn name(&self) -> String {
        format!("{}/{}", self.hub, self.repository)
    }
}

/// Parses like the cacher does; the error says what is wrong.
pub fn parse(image: &str) -> Result<ImageRef, String> {
    if image.trim() != image || image.is_empty() {
        return Err("the reference is empty or has surrounding white space".into());
    }
    let (path, tag, digest) = if let Some((path, rest)) = image.split_once('@') {
        // The cacher skips 7 characters (meant to be `sha256:`) and wants 64 lowercase hex.
        let hex = rest.get(7..).unwrap_or("");
        if !rest.starts_with("sha256:")
            || hex.len() != 64
            || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(
                "a digest must be `@sha256:` followed by exactly 64 lowercase hex characters"
                    .into(),
            );
        }
        (path, None, Some(hex.to_string()))
    } else {
        let parts: Vec<&str> = image.split(':').collect();
        match parts.len() {
            2 => (parts[0], Some(parts[1].to_string()), None),
            // `registry:port/path:tag`: the first `:` is a port.
            3 if parts[1].contains('/') => {
                let cut = image.rfind(':').unwrap_or(image.len());
                (&image[..cut], Some(parts[2].to_string()), None)
            }
            1 => return Err("a tag (`:1.0`) or a digest (`@sha256:…`) is required".into()),
            _ => return Err("too many `:` separators".into()),
        }
    };
    if tag.as_deref() == Some("") || tag.as_deref().is_some_and(|t| t.contains('/')) {
        return Err("the tag is empty or malformed".into());
    }
    let Some((hub, repository)) = path.rsplit_once('/') else {
        return Err(
            "the image path needs a registry or organisation (`quay.io/org/name`), not a bare name"
                .into(),
        );
    };
    if hub.is_empty() || repository.is_empty() {
        return Err("the image path has an empty segment".into());
    }
    Ok(ImageRef {
        hub: hub.into(),
        repository: repository.into(),
        tag,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_cacher_accepts() {
        let hex = "a".repeat(64);
        for ok in [
            "registry.io/corp/repo:latest".to_string(),
            "registry.io:8080/corp/repo:1.0".to_string(),
            format!("registry.io/corp/repo@sha256:{hex}"),
        ] {
            assert!(parse(&ok).is_ok(), "{ok}");
        }
        let r = parse("registry.io:8080/corp/repo:1.0").unwrap();
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
            "quay.io/x/y:".to_string(),
            String::new(),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
    }
}

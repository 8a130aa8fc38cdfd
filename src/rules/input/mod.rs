//! 1xx: the inputs themselves — files, documents, schemas, API versions, suppressions.

pub(crate) mod api_version;
pub(crate) mod schema;
pub(crate) mod suppression;
pub(crate) mod syntax;

use crate::load::Document;

/// `Kind namespace/name` of a document, read from its fields.
fn resource_label(doc: &Document) -> String {
    let kind = doc.str_at("/kind").unwrap_or("?");
    let name = doc.str_at("/metadata/name").unwrap_or("");
    let ns = doc.str_at("/metadata/namespace").unwrap_or("default");
    format!("{kind} {ns}/{name}")
}

fn kind_of(doc: &Document) -> Option<(&str, &str)> {
    Some((doc.str_at("/kind")?, doc.str_at("/apiVersion")?))
}

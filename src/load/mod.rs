//! Loading inputs: paths, directories, globs and stdin → YAML documents with spans.

pub(crate) mod direct;
pub mod inputs;
pub mod read;
pub mod typed;
pub mod yaml;

use crate::diag::Location;
use crate::source::SourceFile;
use std::sync::Arc;
pub use yaml::{Node, Span, Value};

/// One Kubernetes object as written: its source, its YAML tree and its JSON form.
#[derive(Debug)]
pub struct Document {
    pub source: Arc<SourceFile>,
    /// Which YAML document of the file (0-based); `kind: List` items share their document's index.
    pub index: usize,
    /// JSON pointer prefix of this object inside its YAML document (`/items/3` for a List item).
    pub base: String,
    pub root: Node,
}

impl Document {
    pub fn new(source: Arc<SourceFile>, index: usize, base: String, root: Node) -> Document {
        Document {
            source,
            index,
            base,
            root,
        }
    }

    /// The object as JSON (as the API server sees it). Built on each call and not kept: a
    /// second copy of every object would double the memory of large inputs.
    pub fn json(&self) -> serde_json::Value {
        self.root.to_json()
    }

    /// The location of a byte span of this document's source.
    pub fn span_location(&self, span: Span) -> Location {
        self.source.location(span.start, span.end)
    }

    /// The node at `ptr`, else its nearest existing ancestor, else the object itself.
    fn nearest(&self, ptr: &str) -> (Option<&Node>, &Node) {
        let mut p = ptr.to_string();
        loop {
            if let Some(found) = self.root.pointer(&p) {
                return found;
            }
            match p.rfind('/') {
                Some(i) => p.truncate(i),
                None => return (None, &self.root),
            }
        }
    }

    /// The location of the value at JSON pointer `ptr` (nearest ancestor when absent).
    pub fn location_of(&self, ptr: &str) -> Location {
        let (_, node) = self.nearest(ptr);
        self.span_location(node.span)
    }

    /// The location of the key at `ptr` (`phase` in `phase: x`), else of the value.
    pub fn key_location_of(&self, ptr: &str) -> Location {
        let (key, node) = self.nearest(ptr);
        self.span_location(key.unwrap_or(node).span)
    }

    /// A string field by JSON pointer.
    pub fn str_at(&self, ptr: &str) -> Option<&str> {
        self.root.pointer(ptr)?.1.as_str()
    }
}

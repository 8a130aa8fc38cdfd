//! Header maps as Envoy keeps them (ordered, lower-cased keys, duplicates allowed) and the
//! proxy-wasm "pairs" wire format used to move them across the ABI.

use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use std::rc::Rc;

/// An ordered multi-map with lower-cased keys, like Envoy's `HeaderMap`.
///
/// Names and values are shared strings: the simulator copies maps often (the trace's
/// before/after snapshot, the request the upstream saw, the access-log view) and a copy
/// then costs one allocation instead of two per entry. `Rc`, not `Arc`: a stream's maps
/// never leave its thread, and each copy and drop would otherwise be an atomic operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMap(Vec<(Rc<str>, Rc<str>)>);

/// Serialized as a list of `[name, value]` pairs (order and duplicates matter).
impl Serialize for HeaderMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            seq.serialize_element(&(&**k, &**v))?;
        }
        seq.end()
    }
}

/// Most entries a pairs buffer may hold (cpp-host `PairsUtil`).
const MAX_PAIRS: usize = 1024;
/// Largest pairs buffer accepted (cpp-host `PairsUtil`).
const MAX_PAIRS_BYTES: usize = 1 << 20;

/// Names every simulated stream carries: shared from one allocation each, not allocated per
/// map (a request's and its response's maps hold about ten of them).
const WELL_KNOWN: [&str; 9] = [
    ":authority",
    ":path",
    ":method",
    ":scheme",
    ":status",
    "x-request-id",
    "content-length",
    "content-type",
    "grpc-status",
];

/// A header name as stored: lower-cased, allocated once.
fn name(key: &str) -> Rc<str> {
    thread_local! {
        static SHARED: [Rc<str>; WELL_KNOWN.len()] = WELL_KNOWN.map(Rc::from);
    }
    if let Some(i) = WELL_KNOWN.iter().position(|w| *w == key) {
        return SHARED.with(|names| names[i].clone());
    }
    if key.bytes().any(|b| b.is_ascii_uppercase()) {
        key.to_ascii_lowercase().into()
    } else {
        key.into()
    }
}

impl HeaderMap {
    pub fn new() -> HeaderMap {
        HeaderMap(Vec::new())
    }

    /// Room for `n` entries (a request's headers are built with one allocation, not three).
    pub fn with_capacity(n: usize) -> HeaderMap {
        HeaderMap(Vec::with_capacity(n))
    }

    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.add(k.as_ref(), v.as_ref());
        }
        m
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries after `before`'s when this map is `before` with entries appended (the
    /// usual edit of a callback), else None.
    pub fn appended_to(&self, before: &HeaderMap) -> Option<&[(Rc<str>, Rc<str>)]> {
        let (head, tail) = self.0.split_at_checked(before.0.len())?;
        (head == before.0.as_slice()).then_some(tail)
    }

    /// Entries in order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Distinct names in first-seen order (maps hold a handful of entries: a scan beats a set).
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::with_capacity(self.len());
        for (k, _) in self.iter() {
            if !v.contains(&k) {
                v.push(k);
            }
        }
        v
    }

    /// First value of `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        // Stored keys are lower-cased, so this equals comparing with the lower-cased key
        // without allocating it (lookups run several times per callback).
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// Every value of `key` in order (case-insensitive).
    pub fn get_all<'m>(&'m self, key: &'m str) -> impl Iterator<Item = &'m str> + 'm {
        self.iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// All values of `key` joined by `,` (how Envoy presents multi-value headers as properties).
    pub fn get_joined(&self, key: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for v in self.get_all(key) {
            match &mut out {
                None => out = Some(v.to_string()),
                Some(o) => {
                    o.push(',');
                    o.push_str(v);
                }
            }
        }
        out
    }

    pub fn add(&mut self, key: &str, value: &str) {
        self.add_shared(key, value.into());
    }

    /// `add` with a value already allocated as a shared string (no copy).
    pub fn add_shared(&mut self, key: &str, value: Rc<str>) {
        self.0.push((name(key), value));
    }

    /// First value of `key`, shared (no copy).
    pub fn get_shared(&self, key: &str) -> Option<Rc<str>> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    }

    /// Removes every value of `key`, then adds one (Envoy `setCopy`); keeps the position of
    /// the first existing entry so traces stay readable.
    pub fn replace(&mut self, key: &str, value: &str) {
        self.replace_shared(key, value.into());
    }

    /// `replace` with a value already allocated as a shared string (no copy).
    pub fn replace_shared(&mut self, key: &str, value: Rc<str>) {
        match self.0.iter().position(|(k, _)| k.eq_ignore_ascii_case(key)) {
            Some(i) => {
                self.0[i].1 = value;
                let mut seen = false;
                self.0.retain(|(k, _)| {
                    if !k.eq_ignore_ascii_case(key) {
                        return true;
                    }
                    let keep = !seen;
                    seen = true;
                    keep
                });
            }
            None => self.add_shared(key, value),
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
    }

    /// Envoy's `HeaderMap::byteSize()`: the sum of key and value lengths.
    pub fn byte_size(&self) -> usize {
        self.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    /// Serializes to the pairs format; an empty map is an empty buffer.
    pub fn to_pairs(&self) -> Vec<u8> {
        encode_pairs(self.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())))
    }

    /// Parses a pairs buffer; anything malformed gives an empty map, as cpp-host does.
    pub fn from_pairs_bytes(bytes: &[u8]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in decode_pairs(bytes) {
            m.add(&String::from_utf8_lossy(k), &String::from_utf8_lossy(v));
        }
        m
    }
}

/// Encodes `(key, value)` byte pairs in the proxy-wasm pairs format.
pub fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone) -> Vec<u8> {
    let n = pairs.clone().count();
    if n == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(n as u32).to_le_bytes());
    for (k, v) in pairs.clone() {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    out
}

/// Decodes a pairs buffer; malformed input (bad counts, missing NULs, trailing bytes, over
/// the size limits) yields no pairs at all.
pub fn decode_pairs(bytes: &[u8]) -> Vec<(&[u8], &[u8])> {
    fn inner(b: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
        if b.len() < 4 || b.len() > MAX_PAIRS_BYTES {
            return None;
        }
        let rd = |at: usize| -> Option<usize> {
            Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
        };
        let n = rd(0)?;
        if n > MAX_PAIRS {
            return None;
        }
        let mut sizes = Vec::with_capacity(n);
        let mut pos = 4;
        for _ in 0..n {
            sizes.push((rd(pos)?, rd(pos + 4)?));
            pos += 8;
        }
        let mut out = Vec::with_capacity(n);
        for (kl, vl) in sizes {
            let k = b.get(pos..pos.checked_add(kl)?)?;
            pos += kl;
            if *b.get(pos)? != 0 {
                return None;
            }
            pos += 1;
            let v = b.get(pos..pos.checked_add(vl)?)?;
            pos += vl;
            if *b.get(pos)? != 0 {
                return None;
            }
            pos += 1;
            out.push((k, v));
        }
        (pos == b.len()).then_some(out)
    }
    inner(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_names_are_shared_and_others_lower_cased() {
        let a = HeaderMap::from_pairs([(":path", "/a"), ("Content-Type", "x"), ("X-Id", "1")]);
        let b = HeaderMap::from_pairs([(":path", "/b"), ("content-type", "y")]);
        assert!(Rc::ptr_eq(&a.0[0].0, &b.0[0].0));
        assert!(
            !Rc::ptr_eq(&a.0[1].0, &b.0[1].0),
            "upper case is copied lower-cased"
        );
        let names: Vec<&str> = a.0.iter().map(|(k, _)| &**k).collect();
        assert_eq!(names, [":path", "content-type", "x-id"]);
        assert_eq!(a.get("CONTENT-TYPE"), Some("x"));
    }

    #[test]
    fn pairs_round_trip_and_spec_example() {
        let m = HeaderMap::from_pairs([("a", "1"), ("b", "22")]);
        let bytes = m.to_pairs();
        assert_eq!(bytes.len(), 29);
        assert_eq!(&bytes[..4], &[2, 0, 0, 0]);
        assert_eq!(HeaderMap::from_pairs_bytes(&bytes), m);
        // Truncated or trailing garbage → empty.
        assert!(HeaderMap::from_pairs_bytes(&bytes[..28]).is_empty());
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(HeaderMap::from_pairs_bytes(&extra).is_empty());
        // A hostile count does not allocate.
        assert!(decode_pairs(&[0xff, 0xff, 0xff, 0xff]).is_empty());
    }

    #[test]
    fn shared_values_are_not_copied() {
        let v: Rc<str> = "token".into();
        let mut m = HeaderMap::new();
        m.add_shared("X-Auth", v.clone());
        m.add("b", "1");
        m.add("x-auth", "second");
        // Names are lower-cased; lookups hand out the stored allocation itself.
        assert_eq!(m.names(), ["x-auth", "b"]);
        assert!(Rc::ptr_eq(&m.get_shared("X-AUTH").unwrap(), &v));
        assert_eq!(m.get_all("x-auth").collect::<Vec<_>>(), ["token", "second"]);
        // replace keeps the first position and drops the other values.
        m.replace_shared("x-auth", "new".into());
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [("x-auth", "new"), ("b", "1")]
        );
        // A copy shares every string; JSON keeps order and duplicates as pairs.
        let copy = m.clone();
        assert!(Rc::ptr_eq(
            &copy.get_shared("b").unwrap(),
            &m.get_shared("b").unwrap()
        ));
        assert_eq!(
            serde_json::to_string(&copy).unwrap(),
            r#"[["x-auth","new"],["b","1"]]"#
        );
    }

    #[test]
    fn replace_and_remove() {
        let mut m = HeaderMap::from_pairs([("X-A", "1"), ("x-a", "2"), ("b", "3")]);
        assert_eq!(m.get_joined("x-a").as_deref(), Some("1,2"));
        m.replace("x-a", "9");
        assert_eq!(m.iter().collect::<Vec<_>>(), [("x-a", "9"), ("b", "3")]);
        m.remove("B");
        assert_eq!(m.len(), 1);
        assert_eq!(m.byte_size(), 4);
    }
}

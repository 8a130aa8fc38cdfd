//! Label-selector lookups that scale: which items (extensions, Services, policies) select a
//! proxy, and which workloads a selector selects, without comparing every pair.

use super::{selector_matches, Labels, Workload};
use std::collections::HashMap;

/// Items with a label selector, indexed by one `key=value` of each selector, so that a query
/// only tests the items that can possibly match. Queries return items in insertion order
/// (istiod's order matters for ties).
#[derive(Debug)]
pub struct SelectorIndex<'a, T> {
    items: Vec<(Option<&'a Labels>, T)>,
    /// Items without a selector (or an empty one): they select everything.
    everyone: Vec<usize>,
    by_label: HashMap<(&'a str, &'a str), Vec<usize>>,
}

impl<T> Default for SelectorIndex<'_, T> {
    fn default() -> Self {
        SelectorIndex {
            items: Vec::new(),
            everyone: Vec::new(),
            by_label: HashMap::new(),
        }
    }
}

impl<'a, T> SelectorIndex<'a, T> {
    /// Adds an item; `None` or an empty selector selects every label set.
    pub fn push(&mut self, selector: Option<&'a Labels>, item: T) {
        let i = self.items.len();
        match selector.and_then(|s| s.iter().next()) {
            Some((k, v)) => self
                .by_label
                .entry((k.as_str(), v.as_str()))
                .or_default()
                .push(i),
            None => self.everyone.push(i),
        }
        self.items.push((selector, item));
    }

    /// Items whose selector is a subset of `labels`, in insertion order.
    pub fn matching(&self, labels: &Labels) -> impl Iterator<Item = &T> {
        let mut hits = self.everyone.clone();
        for (k, v) in labels {
            if let Some(list) = self.by_label.get(&(k.as_str(), v.as_str())) {
                hits.extend(
                    list.iter()
                        .copied()
                        .filter(|&i| self.items[i].0.is_none_or(|s| selector_matches(s, labels))),
                );
            }
        }
        hits.sort_unstable();
        hits.into_iter().map(|i| &self.items[i].1)
    }

    /// Every item, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().map(|(_, t)| t)
    }
}

/// Workloads by each of their `key=value` pod labels: which workloads a selector selects.
#[derive(Debug, Default)]
pub struct WorkloadsByLabel<'a> {
    by_label: HashMap<(&'a str, &'a str), Vec<&'a Workload>>,
    all: Vec<&'a Workload>,
}

impl<'a> WorkloadsByLabel<'a> {
    pub fn new(workloads: &'a [Workload]) -> Self {
        let mut idx = WorkloadsByLabel {
            by_label: HashMap::new(),
            all: workloads.iter().collect(),
        };
        for w in workloads {
            for (k, v) in &w.labels {
                idx.by_label
                    .entry((k.as_str(), v.as_str()))
                    .or_default()
                    .push(w);
            }
        }
        idx
    }

    /// Workloads whose labels include all of `selector` (every workload for an empty one).
    pub fn selected<'s>(
        &'s self,
        selector: &'s Labels,
    ) -> Box<dyn Iterator<Item = &'a Workload> + 's> {
        match selector.iter().next() {
            None => Box::new(self.all.iter().copied()),
            Some((k, v)) => Box::new(
                self.by_label
                    .get(&(k.as_str(), v.as_str()))
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(move |w| selector_matches(selector, &w.labels)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matches_like_a_linear_scan_in_insertion_order() {
        let sels = [
            Some(labels(&[("app", "web"), ("v", "1")])),
            None,
            Some(labels(&[("app", "web")])),
            Some(labels(&[])),
            Some(labels(&[("tier", "front")])),
            Some(labels(&[("app", "db")])),
        ];
        let mut idx = SelectorIndex::default();
        for (i, s) in sels.iter().enumerate() {
            idx.push(s.as_ref(), i);
        }
        for pod in [
            labels(&[("app", "web"), ("v", "1"), ("tier", "front")]),
            labels(&[("app", "web")]),
            labels(&[]),
            labels(&[("tier", "front"), ("app", "db")]),
        ] {
            let got: Vec<usize> = idx.matching(&pod).copied().collect();
            let want: Vec<usize> = (0..sels.len())
                .filter(|&i| sels[i].as_ref().is_none_or(|s| selector_matches(s, &pod)))
                .collect();
            assert_eq!(got, want, "{pod:?}");
        }
    }
}

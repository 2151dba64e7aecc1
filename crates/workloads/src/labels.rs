//! Label and annotation merging: a child map over a parent map, the child
//! winning on each key, with the keys Helm and `kubectl apply` write for
//! their own bookkeeping removed so they never leak onto generated objects
//! (`docs/seldon-compat.md#server-workloads`).

use std::collections::BTreeMap;

/// Keys dropped from every merged map: they describe the custom resource's
/// own release or last apply, not the objects built from it.
pub const STRIPPED_KEYS: [&str; 3] = [
    "meta.helm.sh/release-name",
    "meta.helm.sh/release-namespace",
    "kubectl.kubernetes.io/last-applied-configuration",
];

/// `child` over `parent`: every key of both, the child's value where both
/// have one, without [`STRIPPED_KEYS`].
pub fn merge(
    child: &BTreeMap<String, String>,
    parent: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut merged = parent.clone();
    merged.extend(child.iter().map(|(k, v)| (k.clone(), v.clone())));
    for key in STRIPPED_KEYS {
        merged.remove(key);
    }
    merged
}

/// `merge` for the optional maps of `ObjectMeta`.
pub(crate) fn merge_opt(
    child: Option<&BTreeMap<String, String>>,
    parent: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let empty = BTreeMap::new();
    merge(child.unwrap_or(&empty), parent.unwrap_or(&empty))
}

/// `None` for an empty map, as an absent `labels:` or `annotations:`.
pub(crate) fn non_empty(map: BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!map.is_empty()).then_some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_child_wins_and_bookkeeping_keys_go() {
        let child = map(&[
            ("team", "fraud"),
            ("meta.helm.sh/release-name", "seldon"),
            ("tier", ""),
        ]);
        let parent = map(&[
            ("team", "platform"),
            ("cost-centre", "42"),
            ("meta.helm.sh/release-namespace", "seldon-system"),
            ("kubectl.kubernetes.io/last-applied-configuration", "{}"),
        ]);
        assert_eq!(
            merge(&child, &parent),
            map(&[("cost-centre", "42"), ("team", "fraud"), ("tier", "")])
        );
    }

    #[test]
    fn absent_maps_merge_as_empty() {
        assert!(merge_opt(None, None).is_empty());
        let parent = map(&[("a", "1")]);
        assert_eq!(merge_opt(None, Some(&parent)), parent);
    }
}

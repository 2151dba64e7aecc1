//! `deploy/crds/` must hold exactly the CRDs the Rust types generate
//! (`switchyard crds`), one file per CRD, all listed in its
//! `kustomization.yaml`.
//!
//! After changing a type in `crates/api/src/`, regenerate the files with
//!
//! ```text
//! UPDATE_CRDS=1 cargo test -p switchyard-api crds_committed
//! ```
//!
//! and commit them. Without `UPDATE_CRDS`, this test only compares, and
//! fails on any difference.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::crd::{self, CrdDocument};
use serde::Deserialize;

const REGENERATE: &str = "regenerate with `UPDATE_CRDS=1 cargo test -p switchyard-api crds_committed` and commit deploy/crds/";

fn crds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds")
}

/// The generated CRD files in `deploy/crds/` (the kustomization and README
/// are written by hand).
fn committed_crd_files() -> BTreeSet<String> {
    fs::read_dir(crds_dir())
        .expect("deploy/crds/ exists")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect()
}

fn update(documents: &[CrdDocument]) {
    let wanted: BTreeSet<&str> = documents.iter().map(|d| d.file_name.as_str()).collect();
    for stale in committed_crd_files() {
        if !wanted.contains(stale.as_str()) {
            fs::remove_file(crds_dir().join(&stale)).unwrap();
        }
    }
    for document in documents {
        fs::write(crds_dir().join(&document.file_name), &document.yaml).unwrap();
    }
}

/// Where two texts first differ, as "line N: committed ... / generated ...".
fn first_difference(committed: &str, generated: &str) -> String {
    let mut committed_lines = committed.lines();
    let mut generated_lines = generated.lines();
    for number in 1.. {
        match (committed_lines.next(), generated_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => break,
            (a, b) => {
                return format!(
                    "line {number}: committed {:?}, generated {:?}",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                );
            }
        }
    }
    "trailing newline".to_owned()
}

#[test]
fn committed_crds_match_the_rust_types() {
    let documents = crd::documents().expect("CRDs serialize");
    if std::env::var_os("UPDATE_CRDS").is_some_and(|v| v == "1") {
        update(&documents);
    }

    let mut problems = Vec::new();
    for document in &documents {
        let path = crds_dir().join(&document.file_name);
        match fs::read_to_string(&path) {
            Ok(committed) if committed == document.yaml => {}
            Ok(committed) => problems.push(format!(
                "{} differs from the generated CRD ({})",
                document.file_name,
                first_difference(&committed, &document.yaml)
            )),
            Err(error) => problems.push(format!("{} missing ({error})", document.file_name)),
        }
    }
    let wanted: BTreeSet<&str> = documents.iter().map(|d| d.file_name.as_str()).collect();
    for stale in committed_crd_files() {
        if !wanted.contains(stale.as_str()) {
            problems.push(format!("{stale} is not a generated CRD (stale?)"));
        }
    }
    assert!(
        problems.is_empty(),
        "deploy/crds/ is out of date with crates/api/src/:\n  {}\n{REGENERATE}",
        problems.join("\n  ")
    );
}

#[derive(Deserialize)]
struct Kustomization {
    resources: Vec<String>,
}

#[test]
fn kustomization_lists_every_crd_in_order() {
    let text = fs::read_to_string(crds_dir().join("kustomization.yaml")).unwrap();
    let kustomization: Kustomization = serde_saphyr::from_str(&text).unwrap();
    let expected: Vec<String> = crd::documents()
        .unwrap()
        .into_iter()
        .map(|d| d.file_name)
        .collect();
    assert_eq!(
        kustomization.resources, expected,
        "deploy/crds/kustomization.yaml must list the generated CRD files in `switchyard crds` order"
    );
}

#[test]
fn first_difference_names_the_line() {
    assert_eq!(
        first_difference("a\nb\nc\n", "a\nB\nc\n"),
        "line 2: committed \"b\", generated \"B\""
    );
    assert_eq!(
        first_difference("a\n", "a\nb\n"),
        "line 2: committed \"<end>\", generated \"b\""
    );
}

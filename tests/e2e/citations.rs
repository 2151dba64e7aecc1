//! Every citation in the code (`docs/seldon-compat.md#anchor`) resolves to
//! an anchor of that page, and no citation points at a document outside the
//! repository (`reference 3.1`, `8.2 #6`).

use std::path::{Path, PathBuf};

const DOC: &str = "docs/seldon-compat.md";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .extension()
                .is_some_and(|e| e == "rs" || e == "proto" || e == "toml")
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for dir in ["crates", "src", "tests", "benches", "proto"] {
        walk(&root().join(dir), &mut files);
    }
    files
}

#[test]
fn every_citation_resolves() {
    let doc = std::fs::read_to_string(root().join(DOC)).unwrap();
    let mut cited = 0;
    let mut broken = Vec::new();
    let needle = format!("{DOC}#");
    for file in sources().iter().filter(|f| !f.ends_with("citations.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        for (i, _) in text.match_indices(&needle) {
            let anchor: String = text[i + needle.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            cited += 1;
            if !doc.contains(&format!("id=\"{anchor}\"")) {
                broken.push(format!("{}: #{anchor}", file.display()));
            }
        }
    }
    assert!(
        cited > 30,
        "the code cites the page ({cited} citations found)"
    );
    assert!(
        broken.is_empty(),
        "citations without an anchor: {broken:#?}"
    );
}

#[test]
fn no_citation_points_outside_the_repository() {
    let private = ["reference 1", "reference 2", "reference 3", "reference 4"]
        .into_iter()
        .chain(["reference 5", "reference 6", "reference 7", "reference 8"])
        .chain([
            "reference §",
            "reference section",
            "shared/reference",
            "8.2 #",
        ]);
    let mut found = Vec::new();
    for file in sources() {
        if file.ends_with("citations.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap().to_lowercase();
        for needle in private.clone() {
            if text.contains(needle) {
                found.push(format!("{}: {needle:?}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "unresolvable citations: {found:#?}");
}

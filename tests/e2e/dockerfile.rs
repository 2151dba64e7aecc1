//! The Dockerfile cannot be built here (no container engine), so this
//! checks what breaks it most often: the build stage copies everything
//! cargo reads (the manifest's bench targets, files pulled in with
//! `include_str!`), nothing it copies is in `.dockerignore`, and the
//! runtime stage runs as the user and on the ports the Deployment expects.

use std::collections::BTreeSet;
use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// Top-level paths the build stages (all but the last) copy from the
/// context (`COPY a b ./`, `COPY src src`).
fn build_stage_copies(dockerfile: &str) -> BTreeSet<String> {
    let stages: Vec<&str> = dockerfile.split("\nFROM ").collect();
    stages[..stages.len() - 1]
        .iter()
        .flat_map(|stage| stage.lines())
        .filter_map(|l| l.trim().strip_prefix("COPY "))
        .filter(|args| !args.starts_with("--from"))
        .flat_map(|args| {
            let parts: Vec<&str> = args.split_whitespace().collect();
            parts[..parts.len() - 1]
                .iter()
                .map(|p| p.trim_end_matches('/').to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_build_stage_copies_what_cargo_reads() {
    let dockerfile = read("Dockerfile");
    let copies = build_stage_copies(&dockerfile);
    let mut needed: BTreeSet<String> = ["Cargo.toml", "Cargo.lock", "proto", "crates", "src"]
        .map(String::from)
        .into();
    if read("Cargo.toml").contains("[[bench]]") {
        needed.insert("benches".into());
    }
    // Files the sources include at compile time, by top-level directory.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = walk(&root.join("src"))
        .into_iter()
        .chain(walk(&root.join("crates")));
    for entry in sources.filter(|p| !p.components().any(|c| c.as_os_str() == "tests")) {
        let text = std::fs::read_to_string(&entry).unwrap();
        for (i, _) in text.match_indices("include_str!(\"") {
            let rest = &text[i + "include_str!(\"".len()..];
            let relative = &rest[..rest.find('"').unwrap()];
            let target = entry.parent().unwrap().join(relative);
            let target = target.canonicalize().unwrap();
            let root = Path::new(env!("CARGO_MANIFEST_DIR"))
                .canonicalize()
                .unwrap();
            let top = target.strip_prefix(&root).unwrap().iter().next().unwrap();
            needed.insert(top.to_string_lossy().into_owned());
        }
    }
    let missing: Vec<_> = needed.difference(&copies).collect();
    assert!(
        missing.is_empty(),
        "the build stage does not copy {missing:?}"
    );

    let ignored: BTreeSet<String> = read(".dockerignore")
        .lines()
        .map(|l| l.trim().trim_end_matches('/').to_owned())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let both: Vec<_> = copies.intersection(&ignored).collect();
    assert!(
        both.is_empty(),
        ".dockerignore hides {both:?}, which the build copies"
    );
}

/// The image is the product alone: the `demo` feature (the API double,
/// the simulator, the demo) is off. `architecture.rs` checks that such a
/// build links no test double.
#[test]
fn the_image_is_built_without_the_dev_tools() {
    let dockerfile = read("Dockerfile");
    let build = dockerfile
        .lines()
        .find(|l| l.contains("cargo build"))
        .expect("a cargo build step");
    assert!(build.contains("--no-default-features"), "{build}");
    assert!(build.contains("-p switchyard"), "{build}");
}

#[test]
fn the_runtime_stage_matches_the_deployment() {
    let dockerfile = read("Dockerfile");
    let runtime = dockerfile.rsplit("\nFROM ").next().unwrap();
    let deployment = read("deploy/base/deployment.yaml");
    let user = runtime
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    let uid = user.split(':').next().unwrap().trim();
    assert!(
        deployment.contains(&format!("runAsUser: {uid}")),
        "the Deployment runs as the image's user {uid}"
    );
    let exposed = runtime
        .lines()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .expect("an EXPOSE line");
    for port in exposed.split_whitespace() {
        assert!(
            deployment.contains(&format!("containerPort: {port}")),
            "the Deployment declares port {port}"
        );
    }
    assert!(runtime.contains("ENTRYPOINT [\"/usr/local/bin/switchyard\"]"));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

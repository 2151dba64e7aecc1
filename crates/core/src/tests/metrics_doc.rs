//! `docs/metrics.md` lists exactly the metrics catalogue
//! (`crate::metrics::CATALOGUE`): the same names, types, labels and
//! help. `UPDATE_METRICS_DOC=1 cargo test -p switchyard-core metrics_doc` rewrites the
//! table from the catalogue.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::metrics::{CATALOGUE, MetricDef};

const START: &str = "<!-- catalogue: generated from crates/core/src/metrics.rs -->";
const END: &str = "<!-- /catalogue -->";

/// One table row: type, labels, help, by name.
type Rows = BTreeMap<String, (String, String, String)>;

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md")
}

fn row(def: &MetricDef) -> String {
    let labels = if def.labels.is_empty() {
        "—".to_owned()
    } else {
        def.labels
            .iter()
            .map(|l| format!("`{l}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "| `{}` | {} | {} | {} |",
        def.name,
        def.kind.as_str(),
        labels,
        def.help.replace('|', "\\|")
    )
}

fn table() -> String {
    let mut lines = vec![HEADER.to_owned(), "|---|---|---|---|".to_owned()];
    lines.extend(CATALOGUE.iter().map(row));
    lines.join("\n")
}

const HEADER: &str = "| Name | Type | Labels | Help |";

/// The rows of every table in `markdown` headed by [`HEADER`].
fn parse(markdown: &str) -> Rows {
    let mut rows = Rows::new();
    let mut in_table = false;
    for line in markdown.lines() {
        in_table = line == HEADER || (in_table && line.starts_with('|'));
        if !in_table || !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cells.len(), 4, "docs/metrics.md: not a 4-cell row: {line}");
        let name = cells[0].trim_matches('`').to_owned();
        let value = (cells[1].into(), cells[2].into(), cells[3].into());
        assert!(
            rows.insert(name.clone(), value).is_none(),
            "docs/metrics.md lists {name} twice"
        );
    }
    rows
}

#[test]
fn metrics_doc_lists_exactly_the_catalogue() {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).expect("docs/metrics.md exists");
    if std::env::var_os("UPDATE_METRICS_DOC").is_some() {
        let (head, rest) = doc.split_once(START).expect("start marker");
        let (_, tail) = rest.split_once(END).expect("end marker");
        let updated = format!("{head}{START}\n{}\n{END}{tail}", table());
        std::fs::write(&path, updated).unwrap();
        return;
    }
    let documented = parse(&doc);
    let catalogued = parse(&table());
    let mut problems = Vec::new();
    for (name, want) in &catalogued {
        match documented.get(name) {
            None => problems.push(format!("{name}: in the catalogue, not in the doc")),
            Some(got) if got != want => {
                problems.push(format!("{name}: doc says {got:?}, catalogue {want:?}"))
            }
            Some(_) => {}
        }
    }
    for name in documented.keys().filter(|n| !catalogued.contains_key(*n)) {
        problems.push(format!("{name}: in the doc, not in the catalogue"));
    }
    assert!(
        problems.is_empty(),
        "docs/metrics.md disagrees with crates/core/src/metrics.rs (UPDATE_METRICS_DOC=1 cargo test -p switchyard-core \
         metrics_doc rewrites its table):\n{}",
        problems.join("\n")
    );
}

/// The "Label values" table explains every label the catalogue uses, and
/// nothing else.
#[test]
fn every_label_has_its_values_explained() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let section = doc
        .split("Label values:")
        .nth(1)
        .expect("docs/metrics.md has a \"Label values:\" table");
    let explained: std::collections::BTreeSet<String> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .flat_map(|l| {
            let first = l.split('|').nth(1).unwrap_or_default();
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let used: std::collections::BTreeSet<String> = CATALOGUE
        .iter()
        .flat_map(|d| d.labels.iter().map(|l| l.to_string()))
        .collect();
    let unexplained: Vec<_> = used.difference(&explained).collect();
    let unused: Vec<_> = explained.difference(&used).collect();
    assert!(
        unexplained.is_empty() && unused.is_empty(),
        "labels used but not explained: {unexplained:?}; explained but unused: {unused:?}"
    );
}

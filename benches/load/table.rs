//! The printed table: one row per figure, both sides, their ratio, the
//! target it is read against, and a note (scale, caveats).

/// One line of the table.
pub(crate) struct Row {
    /// `P1 p50` and so on.
    pub figure: String,
    /// What the left column measures (the switchyard side).
    pub measured: String,
    /// What the right column measures (the baseline), if any.
    pub baseline: String,
    /// `measured / baseline`, or a figure of its own.
    pub ratio: String,
    /// The target it is read against (not asserted).
    pub target: String,
    /// Met, missed, or n/a.
    pub verdict: &'static str,
    /// Scale and caveats.
    pub note: String,
}

impl Row {
    pub(crate) fn failed(figure: &str, error: &str) -> Row {
        Row {
            figure: figure.to_owned(),
            measured: "FAILED".into(),
            baseline: String::new(),
            ratio: String::new(),
            target: String::new(),
            verdict: "error",
            note: error.to_owned(),
        }
    }
}

/// `met` or `MISSED`.
pub(crate) fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// A Markdown table (readable as text, pasteable into BENCHMARKS.md).
pub(crate) fn render(rows: &[Row]) -> String {
    let header = [
        "figure",
        "switchyard",
        "baseline",
        "ratio",
        "target",
        "",
        "note",
    ];
    let cells: Vec<[&str; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.as_str(),
                r.measured.as_str(),
                r.baseline.as_str(),
                r.ratio.as_str(),
                r.target.as_str(),
                r.verdict,
                r.note.as_str(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[&str; 7]| {
        let cols: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |", cols.join(" | "))
    };
    let mut out = vec![line(&header)];
    out.push(format!(
        "|{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    ));
    out.extend(cells.iter().map(line));
    out.join("\n")
}

//! A sweep's numbers: each cell's runs summed up ([`summarize`]), the table printed on
//! stdout ([`table`]) and every run as CSV ([`csv`]).
//!
//! Percentiles are by nearest rank (the smallest completion time at least p % of the
//! runs reach), so each one is a time some run really took. A run that never completed
//! ranks after every one that did: a percentile that lands on it is "did not finish",
//! shown as `>LIMIT` (the cell's time limit), never an invented number.

use super::{Plan, RunResult};
use crate::lab::world::End;
use std::fmt::Write as _;

/// One cell's runs, summed up.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub runs: usize,
    /// Runs whose every body arrived byte-equal.
    pub intact: usize,
    /// Runs whose scenario check passed.
    pub passed: usize,
    /// Runs that completed (the client's last fetch ended) within the time limit.
    pub completed: usize,
    /// Completion time percentiles in virtual seconds; None: at that rank the runs did
    /// not complete.
    pub p10: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
    /// Retransmissions per run: mean and most.
    pub retrans_mean: f64,
    pub retrans_max: usize,
}

/// The value at percentile `p` (0–100) by nearest rank; None sorts last.
fn nearest_rank(sorted: &[Option<f64>], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn summarize(runs: &[RunResult]) -> Summary {
    let mut times: Vec<Option<f64>> = runs.iter().map(|r| r.completion).collect();
    times.sort_by(|a, b| match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let retrans: usize = runs.iter().map(|r| r.retransmissions).sum();
    Summary {
        runs: runs.len(),
        intact: runs.iter().filter(|r| r.intact).count(),
        passed: runs.iter().filter(|r| r.pass).count(),
        completed: runs.iter().filter(|r| r.completion.is_some()).count(),
        p10: nearest_rank(&times, 10.0),
        median: nearest_rank(&times, 50.0),
        p90: nearest_rank(&times, 90.0),
        retrans_mean: retrans as f64 / runs.len().max(1) as f64,
        retrans_max: runs.iter().map(|r| r.retransmissions).max().unwrap_or(0),
    }
}

/// A completion time for the table: seconds with three decimals, or `>LIMIT`.
fn time(t: Option<f64>, limit: f64) -> String {
    match t {
        Some(t) => format!("{t:.3}"),
        None => format!(">{limit}"),
    }
}

/// The table: a heading, one row per cell, and what the columns mean.
pub fn table(plan: &Plan, summaries: &[Summary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "taplab lab sweep {}: {} cell(s) × {} seed(s) ({}..{}) = {} runs",
        plan.scenario.name,
        plan.cells.len(),
        plan.seed_count(),
        plan.seeds.start(),
        plan.seeds.end(),
        plan.runs()
    );
    let _ = writeln!(out, "  {}\n", plan.scenario.about);
    let mut header: Vec<String> = plan.varies.iter().map(|v| v.name.clone()).collect();
    if header.is_empty() {
        header.push("cell".into());
    }
    let metrics = [
        "runs",
        "intact",
        "check",
        "median s",
        "p90 s",
        "retrans/run",
        "max",
    ];
    let rows: Vec<Vec<String>> = plan
        .cells
        .iter()
        .zip(summaries)
        .map(|(c, s)| {
            let mut row: Vec<String> = if c.values.is_empty() {
                vec!["all".into()]
            } else {
                c.values.clone()
            };
            row.extend([
                s.runs.to_string(),
                s.intact.to_string(),
                s.passed.to_string(),
                time(s.median, c.time_limit),
                time(s.p90, c.time_limit),
                format!("{:.1}", s.retrans_mean),
                s.retrans_max.to_string(),
            ]);
            row
        })
        .collect();
    header.extend(metrics.iter().map(|m| m.to_string()));
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let keys = header.len() - metrics.len();
    let line = |cells: &[String]| {
        let mut l = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            // The varied values to the left, the numbers to the right.
            if i < keys {
                let _ = write!(l, " {c}{}", " ".repeat(pad));
            } else {
                let _ = write!(l, "  {}{c}", " ".repeat(pad));
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(&header));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    let _ = writeln!(
        out,
        "\nintact: runs whose every body arrived byte-equal; check: runs whose scenario check passed \
         (PASS); median, p90: completion time by nearest rank, in virtual seconds from the start \
         of a run until the client's last fetch ended (>LIMIT: runs that had not completed at the \
         --time-limit); retrans/run, max: segments the listing marks as retransmissions, mean and most per run."
    );
    out
}

/// A CSV field, quoted when it must be (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Every run, one row each, in order of cell and seed.
pub fn csv(plan: &Plan, results: &[RunResult]) -> String {
    let mut out = String::from("cell");
    for v in &plan.varies {
        out.push(',');
        out.push_str(&field(&v.name));
    }
    out.push_str(",seed,completion_s,intact,check,retransmissions,frames,end\n");
    for (i, r) in results.iter().enumerate() {
        let c = i / plan.seed_count();
        let _ = write!(out, "{}", c + 1);
        for v in &plan.cells[c].values {
            out.push(',');
            out.push_str(&field(v));
        }
        let _ = writeln!(
            out,
            ",{},{},{},{},{},{},{}",
            r.seed,
            r.completion.map_or(String::new(), |t| format!("{t:.6}")),
            r.intact,
            r.pass,
            r.retransmissions,
            r.frames,
            match r.end {
                End::Settled => "settled",
                End::Idle => "idle",
                End::TimeLimit => "time-limit",
                End::IterationLimit => "step-limit",
            }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, completion: Option<f64>, retransmissions: usize) -> RunResult {
        RunResult {
            seed,
            completion,
            intact: completion.is_some(),
            pass: completion.is_some(),
            retransmissions,
            frames: 10,
            end: if completion.is_some() {
                End::Settled
            } else {
                End::TimeLimit
            },
        }
    }

    #[test]
    fn percentiles_by_nearest_rank_with_unfinished_runs_last() {
        // 1..=10 s: p10 is the 1st, the median the 5th, p90 the 9th.
        let runs: Vec<RunResult> = (1..=10)
            .rev()
            .map(|i| run(i, Some(i as f64), i as usize))
            .collect();
        let s = summarize(&runs);
        assert_eq!((s.p10, s.median, s.p90), (Some(1.0), Some(5.0), Some(9.0)));
        assert_eq!((s.runs, s.intact, s.passed, s.completed), (10, 10, 10, 10));
        assert_eq!((s.retrans_mean, s.retrans_max), (5.5, 10));
        // Two of ten never finished: p90 lands on one of them.
        let mut runs = runs;
        runs[0].completion = None;
        runs[1].completion = None;
        let s = summarize(&runs);
        assert_eq!((s.median, s.p90), (Some(5.0), None));
        assert_eq!(s.completed, 8);
        assert_eq!(time(s.p90, 600.0), ">600");
        assert_eq!(summarize(&[]).median, None);
    }

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        assert_eq!(field("0.01"), "0.01");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

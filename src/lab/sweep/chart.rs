//! A sweep's chart: completion time against the first varied flag, one line per
//! combination of the others, each line the cells' medians with a band from p10 to p90.
//!
//! Data enters as the [`Plan`] and its cells' [`Summary`]s; an SVG document leaves. It is
//! made to be read printed in black and white: lines differ by dash pattern and marker
//! shape, not colour; bands are a light grey with edges in their line's dash. The x axis
//! is numeric when every value of the flag is a number (ticks at the values swept),
//! otherwise the values are evenly spaced; the y axis turns logarithmic when the times
//! span more than a factor of 20 (a lossy cell can take hours while a clean one takes a
//! fraction of a second). Percentiles of runs that did not complete are drawn at the time
//! limit, on a dashed line labelled as such. The same input gives the same bytes.

use super::Plan;
use super::stats::Summary;
use std::fmt::Write as _;

const W: f64 = 780.0;
const H: f64 = 470.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = W - 200.0;
const TOP: f64 = 64.0;
const BOTTOM: f64 = H - 72.0;

/// Dash patterns, one per line (solid first).
const DASHES: [&str; 6] = ["", "8 4", "2 3", "10 3 2 3", "4 4", "12 2 2 2 2 2"];
/// Marker shapes, one per line.
#[derive(Clone, Copy)]
enum Marker {
    Disc,
    Square,
    Triangle,
    Diamond,
    Ring,
    Cross,
}
const MARKERS: [Marker; 6] = [
    Marker::Disc,
    Marker::Square,
    Marker::Triangle,
    Marker::Diamond,
    Marker::Ring,
    Marker::Cross,
];

/// XML-escaped text (labels come from the command line).
fn esc(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            c if c.is_control() => " ".into(),
            c => c.to_string(),
        })
        .collect()
}

/// A number as short as it can be written: 0.05, 2, 1000.
fn num(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Where values go on one axis.
enum Scale {
    Linear { lo: f64, hi: f64 },
    Log { lo: f64, hi: f64 },
}

impl Scale {
    /// The y scale for these times (all ≥ 0).
    fn for_times(values: &[f64]) -> Scale {
        let max = values.iter().copied().fold(0.0, f64::max);
        let min_pos = values
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        if min_pos.is_finite() && max / min_pos > 20.0 {
            Scale::Log {
                lo: min_pos.log10().floor(),
                hi: max.log10().ceil(),
            }
        } else {
            let step = nice_step(max.max(1e-3) / 5.0);
            Scale::Linear {
                lo: 0.0,
                hi: (max / step).ceil().max(1.0) * step,
            }
        }
    }

    /// 0..1 along the axis.
    fn frac(&self, v: f64) -> f64 {
        match *self {
            Scale::Linear { lo, hi } => (v - lo) / (hi - lo),
            Scale::Log { lo, hi } => (v.max(1e-9).log10() - lo) / (hi - lo).max(1.0),
        }
    }

    /// Tick values, and whether each is labelled.
    fn ticks(&self) -> Vec<(f64, bool)> {
        match *self {
            Scale::Linear { lo, hi } => {
                let step = nice_step((hi - lo) / 5.0);
                let n = ((hi - lo) / step).round() as i64;
                (0..=n).map(|i| (lo + i as f64 * step, true)).collect()
            }
            Scale::Log { lo, hi } => {
                let mut t = Vec::new();
                for e in lo as i64..=hi as i64 {
                    let base = 10f64.powi(e as i32);
                    t.push((base, true));
                    if e < hi as i64 {
                        t.extend((2..10).map(|m| (base * m as f64, false)));
                    }
                }
                t
            }
        }
    }

    fn is_log(&self) -> bool {
        matches!(self, Scale::Log { .. })
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * p)
}

/// The x positions (0..1) of the first flag's values: by value when all are numbers.
fn x_positions(values: &[String]) -> Vec<f64> {
    let nums: Option<Vec<f64>> = values
        .iter()
        .map(|v| v.parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    match nums {
        Some(n) if n.len() >= 2 => {
            let lo = n.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = n.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if hi > lo {
                return n
                    .iter()
                    .map(|x| 0.05 + 0.9 * (x - lo) / (hi - lo))
                    .collect();
            }
            vec![0.5; n.len()]
        }
        _ if values.len() == 1 => vec![0.5],
        _ => (0..values.len())
            .map(|i| 0.05 + 0.9 * i as f64 / (values.len() - 1).max(1) as f64)
            .collect(),
    }
}

/// One line of the chart: its label and per x value (p10, median, p90), each clamped to
/// the time limit when the runs at that rank did not complete.
struct Line {
    label: String,
    points: Vec<[f64; 3]>,
}

/// The lines, and whether any point had to be drawn at the time limit.
fn lines(plan: &Plan, summaries: &[Summary]) -> (Vec<Line>, Option<f64>) {
    let xs = plan.varies.first().map_or(1, |v| v.values.len());
    let per_x = plan.cells.len() / xs.max(1);
    let mut limit = None;
    let mut out = Vec::new();
    for si in 0..per_x {
        let mut points = Vec::new();
        for xi in 0..xs {
            let c = xi * per_x + si;
            let (cell, s) = (&plan.cells[c], &summaries[c]);
            let mut get = |v: Option<f64>| {
                v.unwrap_or_else(|| {
                    limit = Some(cell.time_limit);
                    cell.time_limit
                })
            };
            points.push([get(s.p10), get(s.median), get(s.p90)]);
        }
        // The first cell of the line names its other values.
        let label = plan
            .varies
            .iter()
            .zip(&plan.cells[si].values)
            .skip(1)
            .map(|(v, x)| format!("{}={x}", v.name))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Line {
            label: if label.is_empty() {
                "median".into()
            } else {
                label
            },
            points,
        });
    }
    (out, limit)
}

fn marker(out: &mut String, m: Marker, x: f64, y: f64) {
    let _ = match m {
        Marker::Disc => write!(
            out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#000"/>"##
        ),
        Marker::Ring => write!(
            out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#fff" stroke="#000" stroke-width="1.5"/>"##
        ),
        Marker::Square => write!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="#fff" stroke="#000" stroke-width="1.5"/>"##,
            x - 4.0,
            y - 4.0
        ),
        Marker::Triangle => write!(
            out,
            r##"<path d="M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z" fill="#000"/>"##,
            y - 5.0,
            x + 5.0,
            y + 4.0,
            x - 5.0,
            y + 4.0
        ),
        Marker::Diamond => write!(
            out,
            r##"<path d="M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z" fill="#fff" stroke="#000" stroke-width="1.5"/>"##,
            y - 5.5,
            x + 5.5,
            y + 5.5,
            x - 5.5
        ),
        Marker::Cross => write!(
            out,
            r##"<path d="M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}" stroke="#000" stroke-width="2"/>"##,
            x - 4.0,
            y - 4.0,
            x + 4.0,
            y + 4.0,
            x - 4.0,
            y + 4.0,
            x + 4.0,
            y - 4.0
        ),
    };
}

/// The axes: frame, ticks, grid, labels.
fn axes(out: &mut String, plan: &Plan, xpos: &[f64], y: &Scale) {
    let py = |v: f64| BOTTOM - y.frac(v) * (BOTTOM - TOP);
    let _ = write!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="none" stroke="#000"/>"##,
        RIGHT - LEFT,
        BOTTOM - TOP
    );
    for (v, labelled) in y.ticks() {
        let yy = py(v);
        if !(TOP - 0.5..=BOTTOM + 0.5).contains(&yy) {
            continue;
        }
        let (len, grid) = if labelled {
            (6.0, "#ccc")
        } else {
            (3.0, "#eee")
        };
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{RIGHT}" y2="{yy:.1}" stroke="{grid}"/><line x1="{:.1}" y1="{yy:.1}" x2="{LEFT}" y2="{yy:.1}" stroke="#000"/>"##,
            LEFT - len
        );
        if labelled {
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 9.0,
                yy + 4.0,
                num(v)
            );
        }
    }
    let values = plan
        .varies
        .first()
        .map_or(vec!["all".to_string()], |v| v.values.clone());
    for (v, x) in values.iter().zip(xpos) {
        let xx = LEFT + x * (RIGHT - LEFT);
        let _ = write!(
            out,
            r##"<line x1="{xx:.1}" y1="{BOTTOM}" x2="{xx:.1}" y2="{:.1}" stroke="#000"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            BOTTOM + 6.0,
            BOTTOM + 20.0,
            esc(v)
        );
    }
    let xlabel = plan.varies.first().map_or("all runs".to_string(), |v| {
        format!("{} (taplab lab --{})", v.name, v.name)
    });
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">{}</text>"#,
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 42.0,
        esc(&xlabel)
    );
    let _ = write!(
        out,
        r#"<text transform="translate({:.1} {:.1}) rotate(-90)" text-anchor="middle" class="axis">completion time (virtual s{})</text>"#,
        LEFT - 58.0,
        (TOP + BOTTOM) / 2.0,
        if y.is_log() { ", log scale" } else { "" }
    );
}

/// Bands first (under every line), then lines and markers, then the legend.
fn draw_lines(out: &mut String, lines: &[Line], xpos: &[f64], y: &Scale) {
    let px = |x: f64| LEFT + x * (RIGHT - LEFT);
    let py = |v: f64| BOTTOM - y.frac(v) * (BOTTOM - TOP);
    for (k, l) in lines.iter().enumerate() {
        let dash = DASHES[k % DASHES.len()];
        let upper: Vec<String> = l
            .points
            .iter()
            .zip(xpos)
            .map(|(p, x)| format!("{:.1},{:.1}", px(*x), py(p[2])))
            .collect();
        let lower: Vec<String> = l
            .points
            .iter()
            .zip(xpos)
            .rev()
            .map(|(p, x)| format!("{:.1},{:.1}", px(*x), py(p[0])))
            .collect();
        let _ = write!(
            out,
            r##"<polygon class="band" points="{} {}" fill="#000" fill-opacity="0.08" stroke="#000" stroke-width="0.7" stroke-dasharray="{dash}"/>"##,
            upper.join(" "),
            lower.join(" ")
        );
    }
    for (k, l) in lines.iter().enumerate() {
        let dash = DASHES[k % DASHES.len()];
        let pts: Vec<String> = l
            .points
            .iter()
            .zip(xpos)
            .map(|(p, x)| format!("{:.1},{:.1}", px(*x), py(p[1])))
            .collect();
        let _ = write!(
            out,
            r##"<polyline class="median" points="{}" fill="none" stroke="#000" stroke-width="2" stroke-dasharray="{dash}"/>"##,
            pts.join(" ")
        );
        for (p, x) in l.points.iter().zip(xpos) {
            marker(out, MARKERS[k % MARKERS.len()], px(*x), py(p[1]));
        }
    }
    for (k, l) in lines.iter().enumerate() {
        let ly = TOP + 12.0 + 22.0 * k as f64;
        let _ = write!(
            out,
            r##"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="#000" stroke-width="2" stroke-dasharray="{}"/>"##,
            RIGHT + 16.0,
            RIGHT + 56.0,
            DASHES[k % DASHES.len()]
        );
        marker(out, MARKERS[k % MARKERS.len()], RIGHT + 36.0, ly);
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            RIGHT + 64.0,
            ly + 4.0,
            esc(&l.label)
        );
    }
}

/// The chart as an SVG document.
pub fn svg(plan: &Plan, summaries: &[Summary]) -> String {
    let (lines, limit) = lines(plan, summaries);
    let values: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().flatten().copied())
        .collect();
    let y = Scale::for_times(&values);
    let xpos = x_positions(
        &plan
            .varies
            .first()
            .map_or(vec!["all".to_string()], |v| v.values.clone()),
    );
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<style>text{{fill:#000}} .title{{font-size:15px;font-weight:bold}} .axis{{font-size:13px}} .note{{font-size:11px;font-style:italic}}</style>
<rect width="{W}" height="{H}" fill="#fff"/>
"##
    );
    let _ = write!(
        out,
        r#"<text x="{LEFT}" y="24" class="title">taplab lab sweep {}: completion time</text><text x="{LEFT}" y="44" class="note">median (line) and p10–p90 (band) of {} seed(s) per point, seeds {}..{}</text>"#,
        esc(plan.scenario.name),
        plan.seed_count(),
        plan.seeds.start(),
        plan.seeds.end()
    );
    axes(&mut out, plan, &xpos, &y);
    if let Some(limit) = limit {
        let yy = BOTTOM - y.frac(limit) * (BOTTOM - TOP);
        // Below the line when it runs along the top, where the subtitle is.
        let label_y = if yy - TOP < 16.0 { yy + 14.0 } else { yy - 4.0 };
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{RIGHT}" y2="{yy:.1}" stroke="#000" stroke-dasharray="1 3"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="note">time limit: runs not finished ({} s)</text>"##,
            RIGHT - 4.0,
            label_y,
            num(limit)
        );
    }
    draw_lines(&mut out, &lines, &xpos, &y);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_ticks_and_positions() {
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(13.0), 20.0);
        assert!(matches!(
            Scale::for_times(&[0.1, 0.5]),
            Scale::Linear { .. }
        ));
        let log = Scale::for_times(&[0.2, 300.0]);
        assert!(log.is_log());
        assert_eq!(log.frac(0.1), 0.0);
        assert_eq!(log.frac(1000.0), 1.0);
        let labelled: Vec<f64> = log.ticks().iter().filter(|t| t.1).map(|t| t.0).collect();
        assert_eq!(labelled, [0.1, 1.0, 10.0, 100.0, 1000.0]);
        let at = |v: &[&str]| -> Vec<f64> {
            let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            x_positions(&v)
                .iter()
                .map(|x| (x * 1000.0).round() / 1000.0)
                .collect()
        };
        assert_eq!(at(&["0", "0.05", "0.1"]), [0.05, 0.5, 0.95], "by value");
        assert_eq!(at(&["0", "0.01", "0.1"]), [0.05, 0.14, 0.95], "by value");
        assert_eq!(at(&["reno", "cubic"]), [0.05, 0.95], "evenly");
        assert_eq!(at(&["10mbit"]), [0.5]);
        assert_eq!(num(0.05), "0.05");
        assert_eq!(num(1000.0), "1000");
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}

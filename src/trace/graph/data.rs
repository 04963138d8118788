//! A plot's points as text, for a test to compare with tshark or a student to plot
//! elsewhere: `--graph KIND=OUT.csv` writes this instead of a picture.
//!
//! One line per point, every point (nothing merged), in the order of the series and of
//! the data: `series,frame,time,value,top`, with time in seconds since the capture's
//! first frame, value (and top, for a bar: the end of a sequence range) in the base
//! unit of the series' axis, named in the header comment. Fixed decimals: the same
//! capture gives the same bytes.

use super::series::{Draw, Plot, Side};
use std::fmt::Write as _;

/// The plot's points as CSV, after two `#` comment lines (title; axes and units).
pub fn csv(plot: &Plot) -> String {
    let unit = |q: super::axes::Quantity| match q {
        super::axes::Quantity::Time => "s",
        super::axes::Quantity::Bytes => "bytes",
        super::axes::Quantity::Rate => "bit/s",
        super::axes::Quantity::Millis => "ms",
    };
    let mut out = format!("# {}\n# time in s; value", plot.title);
    let _ = write!(out, ": {} in {}", plot.y.name, unit(plot.y.quantity));
    if let Some(y2) = &plot.y2 {
        let _ = write!(
            out,
            " (right-axis series: {} in {})",
            y2.name,
            unit(y2.quantity)
        );
    }
    out.push_str("\nseries,frame,time,value,top\n");
    for s in &plot.series {
        let q = match (s.side, &plot.y2) {
            (Side::Right, Some(a)) => a.quantity,
            _ => plot.y.quantity,
        };
        let d = q.decimals();
        for p in &s.points {
            let _ = write!(out, "{},{},{:.6},{:.*},", s.key, p.frame, p.x, d, p.y);
            if matches!(s.style.draw, Draw::Bars(_)) {
                let _ = write!(out, "{:.*}", d, p.top);
            }
            out.push('\n');
        }
    }
    out
}

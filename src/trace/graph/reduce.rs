//! Fewer marks for the same picture: points that would land on the same pixel are merged
//! before they are drawn, so a graph of a million segments is as large as one of a few
//! thousand and looks the same; past [`MAX_DRAWN`] per series even after merging, every
//! k-th is kept and the picture says so.
//!
//! Input is a series' points already in pixel coordinates `(x, y, top)`, in the order of
//! the data; output is the points to draw and a [`Reduction`] saying what happened.
//! Merging works per column of half a pixel:
//! - bars (sequence ranges): overlapping or touching bars of a column become one;
//! - markers: one per pixel (a marker is wider than that);
//! - lines and steps: the first, lowest, highest and last value of each column, in
//!   their order (the outline of everything the column would have drawn).

use super::series::Draw;

/// Most marks drawn per series after merging.
pub const MAX_DRAWN: usize = 20_000;

/// What reducing a series did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reduction {
    /// Points given.
    pub given: usize,
    /// Points drawn.
    pub drawn: usize,
    /// Every `every`-th point kept after merging (1: all of them).
    pub every: usize,
}

type Px = (f64, f64, f64);

fn column(x: f64) -> i64 {
    (x * 2.0).round() as i64
}

/// Reduces `pts` drawn as `draw`.
pub fn reduce(draw: Draw, pts: &[Px]) -> (Vec<Px>, Reduction) {
    let merged = match draw {
        Draw::Bars(_) => bars(pts),
        Draw::Marks(_) => marks(pts),
        Draw::Steps | Draw::Line => outline(pts),
    };
    let every = merged.len().div_ceil(MAX_DRAWN).max(1);
    let drawn: Vec<Px> = if every > 1 {
        merged.into_iter().step_by(every).collect()
    } else {
        merged
    };
    let r = Reduction {
        given: pts.len(),
        drawn: drawn.len(),
        every,
    };
    (drawn, r)
}

/// Bars of one column merged where they overlap or touch (within half a pixel); the
/// columns in order of first appearance.
fn bars(pts: &[Px]) -> Vec<Px> {
    let mut out: Vec<Px> = Vec::with_capacity(pts.len().min(4096));
    let mut i = 0;
    while i < pts.len() {
        // A run of points in one column (the data are in time order, so a column's
        // points mostly come together; a later return to it starts a new run).
        let col = column(pts[i].0);
        let mut j = i;
        let mut run: Vec<(f64, f64)> = Vec::new();
        while j < pts.len() && column(pts[j].0) == col {
            let (_, a, b) = pts[j];
            run.push((a.min(b), a.max(b)));
            j += 1;
        }
        run.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.total_cmp(&q.1)));
        let x = pts[i].0;
        let mut cur = run[0];
        for &(lo, hi) in &run[1..] {
            if lo <= cur.1 + 0.5 {
                cur.1 = cur.1.max(hi);
            } else {
                out.push((x, cur.1, cur.0));
                cur = (lo, hi);
            }
        }
        out.push((x, cur.1, cur.0));
        i = j;
    }
    out
}

/// One marker per pixel, the first one's.
fn marks(pts: &[Px]) -> Vec<Px> {
    let mut seen = std::collections::BTreeSet::new();
    pts.iter()
        .filter(|p| seen.insert((p.0.round() as i64, p.1.round() as i64)))
        .copied()
        .collect()
}

/// For each run of points in one column: its first, lowest, highest and last point, in
/// their order.
fn outline(pts: &[Px]) -> Vec<Px> {
    let mut out = Vec::with_capacity(pts.len().min(4096));
    let mut i = 0;
    while i < pts.len() {
        let col = column(pts[i].0);
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < pts.len() && column(pts[j].0) == col {
            if pts[j].1 < pts[lo].1 {
                lo = j;
            }
            if pts[j].1 > pts[hi].1 {
                hi = j;
            }
            j += 1;
        }
        let mut keep = [i, lo, hi, j - 1];
        keep.sort_unstable();
        let mut last = usize::MAX;
        for k in keep {
            if k != last {
                out.push(pts[k]);
                last = k;
            }
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::graph::series::Shape;

    #[test]
    fn bars_of_a_column_merge_where_they_touch() {
        let pts = [
            (10.0, 100.0, 90.0),
            (10.1, 90.0, 80.0),
            (10.2, 50.0, 40.0),
            (20.0, 30.0, 20.0),
        ];
        let (out, r) = reduce(Draw::Bars(None), &pts);
        assert_eq!(
            out,
            [(10.0, 50.0, 40.0), (10.0, 100.0, 80.0), (20.0, 30.0, 20.0)]
        );
        assert_eq!((r.given, r.drawn, r.every), (4, 3, 1));
    }

    #[test]
    fn markers_one_per_cell_and_lines_keep_their_outline() {
        let pts = [(1.0, 1.0, 1.0), (1.1, 1.1, 1.1), (5.0, 1.0, 1.0)];
        assert_eq!(reduce(Draw::Marks(Shape::Dot), &pts).0.len(), 2);
        let line = [
            (1.0, 5.0, 5.0),
            (1.1, 9.0, 9.0),
            (1.1, 2.0, 2.0),
            (1.2, 6.0, 6.0),
            (1.2, 7.0, 7.0),
            (8.0, 1.0, 1.0),
        ];
        let (out, _) = reduce(Draw::Steps, &line);
        let ys: Vec<f64> = out.iter().map(|p| p.1).collect();
        assert_eq!(ys, [5.0, 9.0, 2.0, 7.0, 1.0]);
    }

    #[test]
    fn a_huge_series_is_capped_and_says_so() {
        let pts: Vec<Px> = (0..100_000)
            .map(|i| (i as f64 * 0.01, (i % 977) as f64, (i % 977) as f64))
            .collect();
        let (out, r) = reduce(Draw::Marks(Shape::Dot), &pts);
        assert!(out.len() <= MAX_DRAWN, "{}", out.len());
        assert!(r.every > 1 && r.given == 100_000 && r.drawn == out.len());
    }
}

//! Drawing a [`Plot`] as an SVG document: title and notes, the plot area with its grid,
//! the axes with their ticks and titles, one path per series (merged where points share
//! a pixel, see [`super::reduce`]) and a legend that shows each series' own mark.
//!
//! The document depends on the plot alone: coordinates are written with one decimal,
//! in the order of the data, so the same capture gives the same bytes.

use super::axes::{Axis, Quantity};
use super::reduce::{Reduction, reduce};
use super::series::{Draw, Plot, Series, Shape, Side, Style};
use std::fmt::Write as _;

/// Writes into a String, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{ let _ = write!($out, $($arg)*); }};
}

const WIDTH: f64 = 1000.0;
const PLOT_H: f64 = 430.0;
const LEFT: f64 = 96.0;
const TITLE_Y: f64 = 30.0;
const NOTE_LINE: f64 = 17.0;
const LEGEND_LINE: f64 = 22.0;
/// Width of one character of the 12 px monospace text (legend layout).
const CHAR_W: f64 = 7.3;

const STYLE: &str = "\
text{font-family:sans-serif;font-size:12px;fill:#24292f}
.title{font-size:17px;font-weight:bold}
.note{font-size:12px;fill:#57606a}
.frame{fill:none;stroke:#24292f;stroke-width:1}
.grid{stroke:#d0d7de;stroke-width:0.6}
.tick{stroke:#24292f;stroke-width:1}
.axis{font-size:13px;font-weight:bold}
.legend text{font-family:monospace;font-size:12px}
.empty{font-size:14px;font-style:italic;fill:#57606a;text-anchor:middle}
";

/// One coordinate, one decimal, never `-0.0`.
fn c(v: f64) -> String {
    let s = format!("{:.1}", v + 0.0);
    if s == "-0.0" { "0.0".into() } else { s }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Where the plot area sits.
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x: Axis,
    y: Axis,
    y2: Option<Axis>,
}

impl Frame {
    fn px(&self, v: f64) -> f64 {
        self.left + self.x.frac(v) * (self.right - self.left)
    }

    fn py(&self, side: Side, v: f64) -> f64 {
        let a = match (side, &self.y2) {
            (Side::Right, Some(a)) => a,
            _ => &self.y,
        };
        self.bottom - a.frac(v) * (self.bottom - self.top)
    }
}

fn axes_of(plot: &Plot, top: f64) -> Frame {
    let all = plot.extent(None);
    let left = plot.extent(Some(Side::Left));
    let right = plot.extent(Some(Side::Right));
    // A little room past the last time and above the highest value, so that marks
    // there are not cut in half (also when every value is the same).
    let room = |(l, h): (f64, f64)| (l, h + (h - l).max(h.abs()) * 0.02);
    let (xl, xh) = room(all.map_or((0.0, 1.0), |e| e.0));
    let x = Axis::new(Quantity::Time, xl, xh, false, 10);
    let (yl, yh) = room(left.map_or((0.0, 1.0), |e| e.1));
    let y = Axis::new(plot.y.quantity, yl, yh, plot.y.from_zero, 8);
    let y2 = plot.y2.as_ref().map(|a| {
        let (l, h) = room(right.map_or((0.0, 1.0), |e| e.1));
        Axis::new(a.quantity, l, h, a.from_zero, 8)
    });
    let right_edge = if y2.is_some() {
        WIDTH - 96.0
    } else {
        WIDTH - 36.0
    };
    Frame {
        left: LEFT,
        right: right_edge,
        top,
        bottom: top + PLOT_H,
        x,
        y,
        y2,
    }
}

/// A marker's path at (x, y).
fn marker(out: &mut String, shape: Shape, x: f64, y: f64) {
    let r = 3.0;
    match shape {
        // A dot is a zero-length line with round caps (see `paint`): a disc in a few bytes.
        Shape::Dot => w!(out, "M{} {}h0", c(x), c(y)),
        Shape::Ring => {
            let r = 2.6;
            w!(
                out,
                "M{} {}a{r} {r} 0 1 0 {} 0a{r} {r} 0 1 0 -{} 0z",
                c(x - r),
                c(y),
                c(2.0 * r),
                c(2.0 * r)
            );
        }
        Shape::Square => w!(out, "M{} {}h5v5h-5z", c(x - 2.5), c(y - 2.5)),
        Shape::Triangle => w!(out, "M{} {}l{r} 5.2h-6z", c(x), c(y - r)),
        Shape::Cross => w!(out, "M{} {}l6 6m0 -6l-6 6", c(x - r), c(y - r)),
    }
}

/// Stroke and fill attributes of a series' marks.
fn paint(style: &Style, marks: bool) -> String {
    if marks && style.draw == Draw::Marks(Shape::Dot) {
        return format!(
            "fill=\"none\" stroke=\"{}\" stroke-width=\"3.6\" stroke-linecap=\"round\"",
            style.colour
        );
    }
    let filled = marks && style.draw == Draw::Marks(Shape::Square);
    let mut a = if filled {
        format!("fill=\"{}\" stroke=\"none\"", style.colour)
    } else {
        format!(
            "fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"",
            style.colour, style.width
        )
    };
    if let (Some(d), false) = (style.dash, marks) {
        w!(a, " stroke-dasharray=\"{d}\"");
    }
    a
}

/// One series as paths; returns what reducing it did.
fn draw_series(out: &mut String, s: &Series, f: &Frame) -> Reduction {
    let pts: Vec<(f64, f64, f64)> = s
        .points
        .iter()
        .map(|p| (f.px(p.x), f.py(s.side, p.y), f.py(s.side, p.top)))
        .collect();
    let (pts, r) = reduce(s.style.draw, &pts);
    if pts.is_empty() {
        return r;
    }
    let mut d = String::new();
    match s.style.draw {
        Draw::Bars(cap) => {
            for &(x, y, top) in &pts {
                // A bar shorter than a pixel still shows.
                let top = if y - top < 1.0 { y - 1.0 } else { top };
                w!(d, "M{} {}V{}", c(x), c(y), c(top));
            }
            w!(
                out,
                "<path class=\"s-{}\" d=\"{d}\" {}/>\n",
                s.key,
                paint(&s.style, false)
            );
            if let Some(shape) = cap {
                let mut m = String::new();
                for &(x, _, top) in &pts {
                    marker(&mut m, shape, x, top);
                }
                let st = Style {
                    draw: Draw::Marks(shape),
                    width: 1.4,
                    ..s.style
                };
                w!(out, "<path d=\"{m}\" {}/>\n", paint(&st, true));
            }
        }
        Draw::Steps | Draw::Line => {
            for (i, &(x, y, _)) in pts.iter().enumerate() {
                match (i, s.style.draw) {
                    (0, _) => w!(d, "M{} {}", c(x), c(y)),
                    (_, Draw::Steps) => w!(d, "H{}V{}", c(x), c(y)),
                    _ => w!(d, "L{} {}", c(x), c(y)),
                }
            }
            w!(
                out,
                "<path class=\"s-{}\" d=\"{d}\" {}/>\n",
                s.key,
                paint(&s.style, false)
            );
        }
        Draw::Marks(shape) => {
            for &(x, y, _) in &pts {
                marker(&mut d, shape, x, y);
            }
            w!(
                out,
                "<path class=\"s-{}\" d=\"{d}\" {}/>\n",
                s.key,
                paint(&s.style, true)
            );
        }
    }
    r
}

fn draw_axes(out: &mut String, plot: &Plot, f: &Frame) {
    for (v, label) in f.x.ticks() {
        let x = f.px(v);
        w!(
            out,
            "<line class=\"grid\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/><line class=\"tick\" x1=\"{0}\" y1=\"{2}\" x2=\"{0}\" y2=\"{3}\"/><text x=\"{0}\" y=\"{4}\" text-anchor=\"middle\">{label}</text>\n",
            c(x),
            c(f.top),
            c(f.bottom),
            c(f.bottom + 5.0),
            c(f.bottom + 19.0)
        );
    }
    for (v, label) in f.y.ticks() {
        let y = f.py(Side::Left, v);
        w!(
            out,
            "<line class=\"grid\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/><line class=\"tick\" x1=\"{3}\" y1=\"{2}\" x2=\"{0}\" y2=\"{2}\"/><text x=\"{4}\" y=\"{5}\" text-anchor=\"end\">{label}</text>\n",
            c(f.left),
            c(f.right),
            c(y),
            c(f.left - 5.0),
            c(f.left - 8.0),
            c(y + 4.0)
        );
    }
    if let Some(a) = &f.y2 {
        for (v, label) in a.ticks() {
            let y = f.py(Side::Right, v);
            w!(
                out,
                "<line class=\"tick\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/><text x=\"{3}\" y=\"{4}\">{label}</text>\n",
                c(f.right),
                c(y),
                c(f.right + 5.0),
                c(f.right + 8.0),
                c(y + 4.0)
            );
        }
    }
    w!(
        out,
        "<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n",
        c(f.left),
        c(f.top),
        c(f.right - f.left),
        c(f.bottom - f.top)
    );
    let mid_x = (f.left + f.right) / 2.0;
    let mid_y = (f.top + f.bottom) / 2.0;
    w!(
        out,
        "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
        c(mid_x),
        c(f.bottom + 40.0),
        esc(&f.x.title(&plot.x_name))
    );
    w!(
        out,
        "<text class=\"axis\" transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
        c(f.left - 70.0),
        c(mid_y),
        esc(&f.y.title(&plot.y.name))
    );
    if let (Some(a), Some(y2)) = (&f.y2, &plot.y2) {
        w!(
            out,
            "<text class=\"axis\" transform=\"translate({} {}) rotate(90)\" text-anchor=\"middle\">{}</text>\n",
            c(f.right + 70.0),
            c(mid_y),
            esc(&a.title(&y2.name))
        );
    }
}

/// A legend entry's sample of the series' own mark, 28 px wide, centred on `y`.
fn swatch(out: &mut String, s: &Style, x: f64, y: f64) {
    match s.draw {
        Draw::Bars(cap) => {
            w!(
                out,
                "<path d=\"M{0} {1}V{2}M{3} {1}V{2}\" {4}/>",
                c(x + 9.0),
                c(y + 6.0),
                c(y - 6.0),
                c(x + 19.0),
                paint(s, false)
            );
            if let Some(shape) = cap {
                let mut m = String::new();
                marker(&mut m, shape, x + 9.0, y - 6.0);
                marker(&mut m, shape, x + 19.0, y - 6.0);
                let st = Style {
                    draw: Draw::Marks(shape),
                    width: 1.4,
                    ..*s
                };
                w!(out, "<path d=\"{m}\" {}/>", paint(&st, true));
            }
        }
        Draw::Steps => w!(
            out,
            "<path d=\"M{} {}H{}V{}H{}\" {}/>",
            c(x),
            c(y + 4.0),
            c(x + 14.0),
            c(y - 4.0),
            c(x + 28.0),
            paint(s, false)
        ),
        Draw::Line => w!(
            out,
            "<path d=\"M{} {}H{}\" {}/>",
            c(x),
            c(y),
            c(x + 28.0),
            paint(s, false)
        ),
        Draw::Marks(shape) => {
            let mut m = String::new();
            marker(&mut m, shape, x + 8.0, y);
            marker(&mut m, shape, x + 20.0, y);
            w!(out, "<path d=\"{m}\" {}/>", paint(s, true));
        }
    }
}

/// Legend entries laid out in rows; returns the rows' (x, text) and the row count.
fn legend_layout(texts: &[String], width: f64) -> Vec<Vec<(f64, usize)>> {
    let mut rows: Vec<Vec<(f64, usize)>> = vec![Vec::new()];
    let mut x = LEFT;
    for (i, t) in texts.iter().enumerate() {
        let w = 36.0 + t.chars().count() as f64 * CHAR_W + 24.0;
        if x + w > width - 20.0 && x > LEFT {
            rows.push(Vec::new());
            x = LEFT;
        }
        if let Some(r) = rows.last_mut() {
            r.push((x, i));
        }
        x += w;
    }
    rows
}

/// What the reductions did, in words (empty when everything was drawn as given).
fn reduction_note(plot: &Plot, rs: &[Reduction]) -> Option<String> {
    let merged: usize = rs.iter().map(|r| r.given - r.drawn).sum();
    if merged == 0 {
        return None;
    }
    let given: usize = rs.iter().map(|r| r.given).sum();
    let mut s = format!(
        "{given} points, drawn as {} marks: points on the same pixel merged",
        given - merged
    );
    for (r, series) in rs.iter().zip(&plot.series) {
        if r.every > 1 {
            let nth = match r.every {
                2 => "2nd".to_string(),
                3 => "3rd".to_string(),
                k => format!("{k}th"),
            };
            w!(
                s,
                "; {}: only every {nth} drawn (still more than {} marks after merging)",
                series.key,
                super::reduce::MAX_DRAWN
            );
        }
    }
    Some(s)
}

/// The plot as an SVG document.
pub fn render(plot: &Plot) -> String {
    // The notes come first but depend on what drawing the series did: draw them first.
    let note_lines = plot.notes.len() + 1;
    let top = TITLE_Y + NOTE_LINE * note_lines as f64 + 18.0;
    let f = axes_of(plot, top);
    let mut body = String::new();
    w!(body, "<g clip-path=\"url(#plot)\">\n");
    let rs: Vec<Reduction> = plot
        .series
        .iter()
        .map(|s| draw_series(&mut body, s, &f))
        .collect();
    w!(body, "</g>\n");
    let mut notes = plot.notes.clone();
    notes.extend(reduction_note(plot, &rs));
    if plot.is_empty() {
        w!(
            body,
            "<text class=\"empty\" x=\"{}\" y=\"{}\">nothing to draw: no segments of this kind in this direction</text>\n",
            c((f.left + f.right) / 2.0),
            c((f.top + f.bottom) / 2.0)
        );
    }
    let texts: Vec<String> = plot
        .series
        .iter()
        .map(|s| format!("{} ({})", s.name, s.points.len()))
        .collect();
    let rows = legend_layout(&texts, WIDTH);
    let legend_top = f.bottom + 66.0;
    let height = legend_top + rows.len() as f64 * LEGEND_LINE + 12.0;

    let mut out = String::new();
    w!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\">\n<title>{2}</title>\n<style>\n{STYLE}</style>\n",
        c(WIDTH),
        c(height),
        esc(&plot.title)
    );
    w!(
        out,
        "<defs><clipPath id=\"plot\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs>\n",
        c(f.left - 4.0),
        c(f.top - 4.0),
        c(f.right - f.left + 8.0),
        c(f.bottom - f.top + 8.0)
    );
    w!(
        out,
        "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
    );
    w!(
        out,
        "<text class=\"title\" x=\"{}\" y=\"{}\">{}</text>\n",
        c(LEFT - 70.0),
        c(TITLE_Y),
        esc(&plot.title)
    );
    for (i, n) in notes.iter().enumerate() {
        w!(
            out,
            "<text class=\"note\" x=\"{}\" y=\"{}\">{}</text>\n",
            c(LEFT - 70.0),
            c(TITLE_Y + NOTE_LINE * (i + 1) as f64 + 2.0),
            esc(n)
        );
    }
    draw_axes(&mut out, plot, &f);
    out.push_str(&body);
    w!(out, "<g class=\"legend\">\n");
    for (r, row) in rows.iter().enumerate() {
        let y = legend_top + r as f64 * LEGEND_LINE;
        for &(x, i) in row {
            swatch(&mut out, &plot.series[i].style, x, y);
            w!(
                out,
                "<text x=\"{}\" y=\"{}\">{}</text>\n",
                c(x + 36.0),
                c(y + 4.0),
                esc(&texts[i])
            );
        }
    }
    w!(out, "</g>\n</svg>\n");
    out
}

//! Writing the SVG document of a planned ladder: the header, the lifelines (broken at
//! idle gaps), one group per row and the legend.

use super::layout::{
    BAND_OVERHANG, BODY_TOP, DROP, Geometry, LEGEND_LINE, NAME_PX, STREAM_COLOURS, SUB_PX, Streams,
    Swatch, TITLE_PX, entry_w, legend_entries, legend_layout, measure, row_height, state_box_w,
    swatch_w,
};
use super::plan::{Kind, Row};
use super::text::{
    MAX_NAME, MAX_TEXT, SegText, band_text, cap_text, clip, esc, fmt_time, idle_text, mono_w,
    plural, sans_w, state_text,
};
use super::{Item, Ladder, Segment, StateMark};
use std::fmt::Write as _;

/// Writes into a String, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{ let _ = write!($out, $($arg)*); }};
}
const STYLE: &str = "\
text{font-family:monospace;font-size:12px;fill:#24292f}
.title{font-family:sans-serif;font-size:17px;font-weight:bold}
.sub{font-size:11px;fill:#57606a}
.who{font-size:13px;font-weight:bold;text-anchor:middle}
.whobox{fill:#f6f8fa;stroke:#24292f;stroke-width:1.2}
.life{stroke:#8c959f;stroke-width:1.5}
.lifegap{stroke:#8c959f;stroke-width:1.5;stroke-dasharray:1 5}
.brk{stroke:#57606a;stroke-width:1.5;fill:none}
.arrow{stroke-width:1.6;fill:none}
.label{text-anchor:middle}
.flags{font-weight:bold}
.tag{font-weight:bold}
.note{font-size:11px;font-style:italic;fill:#57606a;text-anchor:middle}
.time{font-size:11px}
.frame{font-size:10px;fill:#6e7781}
.syn .arrow,.fin .arrow,.rst .arrow{stroke-width:2.2}
.ack .arrow{stroke-width:1.2}
.state rect{fill:#fff8c5;stroke:#9a6700;stroke-width:1.2}
.state text{font-size:11px;text-anchor:middle;fill:#633c01}
.state.inf rect{fill:#ffffff;stroke-dasharray:4 2}
.state.inf text{font-style:italic}
.band rect{fill:#f6f8fa;stroke:#8c959f;stroke-dasharray:6 3}
.band text{text-anchor:middle}
.band .detail{font-size:11px;fill:#57606a}
.idle{font-style:italic;fill:#57606a;text-anchor:middle}
.cap{font-weight:bold;fill:#cf222e;text-anchor:middle}
.empty{font-style:italic;fill:#57606a;text-anchor:middle}
.legend text{font-size:11px;fill:#24292f}
";

fn style(multi: bool) -> String {
    let mut css = STYLE.to_string();
    for k in Kind::ALL {
        let (c, col) = (k.class(), k.colour());
        w!(
            css,
            ".{c} .arrow{{stroke:{col}}}.{c} .head,.{c} .dot{{fill:{col}}}.{c} .flags{{fill:{col}}}\n"
        );
    }
    if multi {
        for (i, (c, tint)) in STREAM_COLOURS.iter().enumerate() {
            w!(
                css,
                ".tag.sc{i}{{fill:{c}}}.state.sc{i} rect{{stroke:{c};fill:{tint}}}.state.inf.sc{i} rect{{fill:#ffffff}}.state.sc{i} text{{fill:{c}}}\n"
            );
        }
    }
    css
}

fn draw_segment(out: &mut String, s: &Segment, y: f64, g: &Geometry, multi: bool, st: &Streams) {
    let t = SegText::new(s, multi);
    let (x0, x1) = if s.from_left {
        (g.xl, g.xr)
    } else {
        (g.xr, g.xl)
    };
    let (y0, y1) = (y + 20.0, y + 20.0 + DROP);
    // Arrowhead along the slope; the line stops at its base so the stroke does not poke
    // through the tip.
    let (dx, dy) = (x1 - x0, y1 - y0);
    let len = (dx * dx + dy * dy).sqrt();
    let (ux, uy) = (dx / len, dy / len);
    let (bx, by) = (x1 - 10.0 * ux, y1 - 10.0 * uy);
    let (nx, ny) = (-uy * 4.5, ux * 4.5);
    let kind = Kind::of(s);
    w!(out, "<g class=\"seg {}\">", kind.class());
    w!(
        out,
        "<line class=\"arrow\" x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{bx:.1}\" y2=\"{by:.1}\"/>"
    );
    w!(
        out,
        "<path class=\"head\" d=\"M{x1:.1} {y1:.1}L{:.1} {:.1}L{:.1} {:.1}Z\"/>",
        bx + nx,
        by + ny,
        bx - nx,
        by - ny
    );
    w!(
        out,
        "<circle class=\"dot\" cx=\"{x0:.1}\" cy=\"{y0:.1}\" r=\"2.5\"/>"
    );
    let mid = (g.xl + g.xr) / 2.0;
    w!(
        out,
        "<text class=\"label\" x=\"{mid:.1}\" y=\"{:.1}\">",
        y + 14.0
    );
    if !t.tag.is_empty() {
        w!(
            out,
            // The space stays outside the tspan: renderers strip a tspan's trailing
            // space, which would glue "#3" to "[SYN]".
            "<tspan class=\"tag {}\">{}</tspan> ",
            st.class(s.stream),
            esc(&t.tag)
        );
    }
    w!(
        out,
        "<tspan class=\"flags\">{}</tspan>{}</text>",
        esc(&t.flags),
        esc(&t.rest)
    );
    if let Some(n) = &t.note {
        w!(
            out,
            "<text class=\"note\" x=\"{mid:.1}\" y=\"{:.1}\">{}</text>",
            y1 + 14.0,
            esc(n)
        );
    }
    // Frame and time in the sender's margin, where the arrow leaves.
    let (mx, anchor) = if s.from_left {
        (g.xl - 10.0, "end")
    } else {
        (g.xr + 10.0, "start")
    };
    w!(
        out,
        "<text class=\"time\" x=\"{mx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
        y0 + 4.0,
        esc(&t.time)
    );
    w!(
        out,
        "<text class=\"frame\" x=\"{mx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
        y0 + 16.0,
        esc(&t.frame)
    );
    out.push_str("</g>\n");
}

fn draw_state(out: &mut String, m: &StateMark, y: f64, g: &Geometry, multi: bool, st: &Streams) {
    let text = state_text(m, multi);
    let bw = state_box_w(&text);
    let cx = if m.left { g.xl } else { g.xr };
    let mut class = String::from("state");
    if m.inferred {
        class.push_str(" inf");
    }
    if multi {
        class.push(' ');
        class.push_str(&st.class(m.stream));
    }
    w!(
        out,
        "<g class=\"{class}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"18\" rx=\"4\"/>\
         <text x=\"{cx:.1}\" y=\"{:.1}\">{}</text></g>\n",
        cx - bw / 2.0,
        y + 5.0,
        y + 18.0,
        esc(&text)
    );
}

/// The legend: each entry a small sample of the drawing, then its meaning.
fn draw_legend(out: &mut String, entries: &[(Swatch, String)], top: f64, width: f64) {
    let (pos, _) = legend_layout(entries, width);
    out.push_str("<g class=\"legend\">");
    for ((s, text), (x, line)) in entries.iter().zip(pos) {
        let y = top + line as f64 * LEGEND_LINE;
        let sw = swatch_w(s);
        match s {
            Swatch::Arrow(k) => w!(
                out,
                "<g class=\"{}\"><line class=\"arrow sample\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\
                 <path class=\"head sample\" d=\"M{:.1} {:.1}l-9 -4.5v9Z\"/></g>",
                k.class(),
                y + 8.0,
                x + sw - 8.0,
                y + 8.0,
                x + sw,
                y + 8.0
            ),
            Swatch::State { inferred } => w!(
                out,
                "<g class=\"state{}\"><rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{sw:.1}\" height=\"16\" rx=\"4\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">STATE</text></g>",
                if *inferred { " inf" } else { "" },
                y,
                x + sw / 2.0,
                y + 12.0
            ),
            Swatch::Stream(id, slot) => w!(
                out,
                "<g class=\"state sc{slot}\"><rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{sw:.1}\" height=\"16\" rx=\"4\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">#{id}</text></g>",
                y,
                x + sw / 2.0,
                y + 12.0
            ),
            Swatch::None => {}
        }
        w!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x + sw + 6.0,
            y + 12.0,
            esc(text)
        );
    }
    out.push_str("</g>\n");
}

/// One line under the title: how much there is, over which times.
fn subtitle(ladder: &Ladder, streams: &Streams) -> String {
    let segs: Vec<&Segment> = ladder
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Segment(s) => Some(s),
            Item::State(_) => None,
        })
        .collect();
    let mut sub = format!(
        "{} · {}",
        plural(segs.len(), "segment", "segments"),
        plural(streams.order.len(), "stream", "streams")
    );
    if let (Some(a), Some(b)) = (segs.first(), segs.last()) {
        w!(sub, " · {} to {}", fmt_time(a.time), fmt_time(b.time));
    }
    sub.push_str(" · rows in capture order, not to time scale");
    sub
}

/// The whole document: header, lifelines, rows, legend.
pub fn draw(ladder: &Ladder, rows: &[Row<'_>]) -> String {
    let streams = Streams::new(&ladder.items);
    let multi = streams.order.len() > 1;
    let entries = legend_entries(&streams);
    // The legend wraps, so it asks for no more width than its widest single entry.
    let legend_w = entries
        .iter()
        .map(|(s, t)| entry_w(s, t) + 32.0)
        .fold(0.0, f64::max);
    let title = clip(&ladder.title, MAX_TEXT);
    let title = if title.is_empty() {
        "TCP ladder".to_string()
    } else {
        title
    };
    let sub = subtitle(ladder, &streams);
    let min_w = legend_w
        .max(sans_w(&title, TITLE_PX) + 32.0)
        .max(mono_w(&sub, SUB_PX) + 32.0);
    let g = measure(ladder, rows, multi, min_w);

    let body_h: f64 = if rows.is_empty() {
        40.0
    } else {
        rows.iter().map(row_height).sum()
    };
    let body_end = BODY_TOP + body_h + 10.0;
    let legend_top = body_end + 22.0;
    let (_, legend_lines) = legend_layout(&entries, g.width);
    let height = (legend_top + legend_lines as f64 * LEGEND_LINE + 8.0).ceil();
    let width = g.width;

    let mut out = String::with_capacity(4096 + rows.len() * 600);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n"
    );
    w!(out, "<title>{}</title>\n", esc(&title));
    w!(out, "<style>\n{}</style>\n", style(multi));
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    draw_header(&mut out, ladder, &title, &sub, &g);
    draw_lifelines(&mut out, rows, &g, body_end);
    draw_rows(&mut out, rows, &g, multi, &streams);
    draw_legend(&mut out, &entries, legend_top, width);
    out.push_str("</svg>\n");
    out
}

/// Title, a one-line summary, and the two hosts.
fn draw_header(out: &mut String, ladder: &Ladder, title: &str, sub: &str, g: &Geometry) {
    w!(
        out,
        "<text class=\"title\" x=\"16\" y=\"28\">{}</text>\n",
        esc(title)
    );
    w!(
        out,
        "<text class=\"sub\" x=\"16\" y=\"46\">{}</text>\n",
        esc(sub)
    );
    for (x, name) in [(g.xl, &ladder.left), (g.xr, &ladder.right)] {
        let name = clip(name, MAX_NAME);
        let bw = mono_w(&name, NAME_PX) + 20.0;
        w!(
            out,
            "<rect class=\"whobox\" x=\"{:.1}\" y=\"60\" width=\"{bw:.1}\" height=\"26\" rx=\"5\"/>\
             <text class=\"who\" x=\"{x:.1}\" y=\"78\">{}</text>\n",
            x - bw / 2.0,
            esc(&name)
        );
    }
}

/// The two lifelines, dotted across idle breaks.
fn draw_lifelines(out: &mut String, rows: &[Row<'_>], g: &Geometry, body_end: f64) {
    let mut gaps = Vec::new();
    let mut y = BODY_TOP;
    for row in rows {
        if let Row::Idle(_) = row {
            gaps.push((y + 3.0, y + row_height(row) - 3.0));
        }
        y += row_height(row);
    }
    for x in [g.xl, g.xr] {
        let mut from = 86.0;
        for &(a, b) in &gaps {
            w!(
                out,
                "<line class=\"life\" x1=\"{x:.1}\" y1=\"{from:.1}\" x2=\"{x:.1}\" y2=\"{a:.1}\"/>\
                 <line class=\"lifegap\" x1=\"{x:.1}\" y1=\"{a:.1}\" x2=\"{x:.1}\" y2=\"{b:.1}\"/>"
            );
            // The "//" break mark of a cut axis: time went on here, unshown.
            let m = (a + b) / 2.0;
            w!(
                out,
                "<path class=\"brk\" d=\"M{:.1} {:.1}l12 -5M{:.1} {:.1}l12 -5\"/>",
                x - 6.0,
                m,
                x - 6.0,
                m + 5.0
            );
            from = b;
        }
        w!(
            out,
            "<line class=\"life\" x1=\"{x:.1}\" y1=\"{from:.1}\" x2=\"{x:.1}\" y2=\"{body_end:.1}\"/>\
             <line class=\"life\" x1=\"{:.1}\" y1=\"{body_end:.1}\" x2=\"{:.1}\" y2=\"{body_end:.1}\"/>\n",
            x - 8.0,
            x + 8.0
        );
    }
}

/// Each planned row, top to bottom.
fn draw_rows(out: &mut String, rows: &[Row<'_>], g: &Geometry, multi: bool, streams: &Streams) {
    let mid = (g.xl + g.xr) / 2.0;
    if rows.is_empty() {
        w!(
            out,
            "<text class=\"empty\" x=\"{mid:.1}\" y=\"{:.1}\">no segments</text>\n",
            BODY_TOP + 24.0
        );
    }
    let mut y = BODY_TOP;
    for row in rows {
        match row {
            Row::Seg(s) => draw_segment(out, s, y, g, multi, streams),
            Row::States(marks) => {
                for m in marks {
                    draw_state(out, m, y, g, multi, streams);
                }
            }
            Row::Band(b) => {
                let (main, detail) = band_text(b, multi);
                w!(
                    out,
                    "<g class=\"band\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"40\" rx=\"3\"/>\
                     <text x=\"{mid:.1}\" y=\"{:.1}\">{}</text>\
                     <text class=\"detail\" x=\"{mid:.1}\" y=\"{:.1}\">{}</text></g>\n",
                    g.xl - BAND_OVERHANG,
                    y + 7.0,
                    g.xr - g.xl + 2.0 * BAND_OVERHANG,
                    y + 23.0,
                    esc(&main),
                    y + 39.0,
                    esc(&detail)
                );
            }
            Row::Idle(gap) => w!(
                out,
                "<text class=\"idle\" x=\"{mid:.1}\" y=\"{:.1}\">{}</text>\n",
                y + 19.0,
                esc(&idle_text(*gap))
            ),
            Row::Cap { segments, states } => w!(
                out,
                "<text class=\"cap\" x=\"{mid:.1}\" y=\"{:.1}\">{}</text>\n",
                y + 21.0,
                esc(&cap_text(*segments, *states))
            ),
        }
        y += row_height(row);
    }
}

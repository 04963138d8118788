//! Where things go in a ladder picture: font sizes and margins, the stream colours, the
//! width between the lifelines (measured from the texts so that nothing overlaps), each
//! row's height and the legend's lines.

use super::Item;
use super::Ladder;
use super::plan::{Kind, Row, note_of};
use super::text::{
    MAX_NAME, SegText, band_text, cap_text, clip, idle_text, mono_w, plural, state_text,
};
use std::collections::HashMap;

pub const MONO_ADVANCE: f64 = 0.61;
// Font sizes in pixels, the same as in STYLE: widths are estimated from them.
pub const LABEL_PX: f64 = 12.0;
pub const NOTE_PX: f64 = 11.0;
pub const TIME_PX: f64 = 11.0;
pub const FRAME_PX: f64 = 10.0;
pub const STATE_PX: f64 = 11.0;
pub const NAME_PX: f64 = 13.0;
pub const TITLE_PX: f64 = 17.0;
pub const SUB_PX: f64 = 11.0;
/// Room between a label's end and a lifeline.
pub const LABEL_PAD: f64 = 28.0;
/// Narrowest distance between the lifelines: short labels should still give arrows long
/// enough to read as "crossing the network".
pub const MIN_SPAN: f64 = 520.0;
/// How far an arrow falls while it crosses: a segment takes time to arrive.
pub const DROP: f64 = 10.0;
/// How far a band sticks out past the lifelines, so it visibly cuts both.
pub const BAND_OVERHANG: f64 = 30.0;
pub const BODY_TOP: f64 = 98.0;
pub const LEGEND_LINE: f64 = 24.0;

/// Colours for streams when several are interleaved, chosen apart from the arrow colours
/// (which say SYN/FIN/RST/data/ACK); a stream's number is always printed too, so the
/// palette may repeat.
pub const STREAM_COLOURS: [(&str, &str); 8] = [
    ("#bc4c00", "#fff1e5"),
    ("#0a7a7a", "#e0f5f5"),
    ("#a4106b", "#fdeaf5"),
    ("#5a6b00", "#f2f6dc"),
    ("#1f3a93", "#e6ebfa"),
    ("#8a4a10", "#f8ece0"),
    ("#6639ba", "#efe9fa"),
    ("#2f6f3e", "#e4f2e7"),
];

/// Streams in order of first appearance; a stream's colour slot is its position.
pub struct Streams {
    pub order: Vec<usize>,
    slot: HashMap<usize, usize>,
}

impl Streams {
    pub fn new(items: &[Item]) -> Self {
        let mut s = Streams {
            order: Vec::new(),
            slot: HashMap::new(),
        };
        for item in items {
            let id = match item {
                Item::Segment(x) => x.stream,
                Item::State(x) => x.stream,
            };
            if !s.slot.contains_key(&id) {
                s.slot.insert(id, s.order.len() % STREAM_COLOURS.len());
                s.order.push(id);
            }
        }
        s
    }

    pub fn class(&self, stream: usize) -> String {
        format!("sc{}", self.slot.get(&stream).copied().unwrap_or(0))
    }
}

pub fn state_box_w(text: &str) -> f64 {
    mono_w(text, STATE_PX) + 14.0
}

pub fn row_height(row: &Row<'_>) -> f64 {
    match row {
        Row::Seg(s) if note_of(s).is_some() => 54.0,
        Row::Seg(_) => 44.0,
        Row::States(_) => 28.0,
        Row::Band(_) => 56.0,
        Row::Idle(_) => 30.0,
        Row::Cap { .. } => 34.0,
    }
}

/// Where things go, measured from the texts so that nothing overlaps: the span between
/// the lifelines fits the longest label, the margins fit the times and the state boxes.
pub struct Geometry {
    pub xl: f64,
    pub xr: f64,
    pub width: f64,
}

/// `min_w`: what the header and the legend need.
pub fn measure(ladder: &Ladder, rows: &[Row<'_>], multi: bool, min_w: f64) -> Geometry {
    let mut inner = MIN_SPAN - 2.0 * LABEL_PAD;
    let mut margin = BAND_OVERHANG + 14.0;
    let left_name = clip(&ladder.left, MAX_NAME);
    let right_name = clip(&ladder.right, MAX_NAME);
    for name in [&left_name, &right_name] {
        margin = margin.max(mono_w(name, NAME_PX) / 2.0 + 12.0);
    }
    for row in rows {
        match row {
            Row::Seg(s) => {
                let t = SegText::new(s, multi);
                inner = inner.max(t.width());
                if let Some(n) = &t.note {
                    inner = inner.max(mono_w(n, NOTE_PX));
                }
                margin = margin
                    .max(mono_w(&t.time, TIME_PX) + 12.0)
                    .max(mono_w(&t.frame, FRAME_PX) + 12.0);
            }
            Row::States(marks) => {
                for m in marks {
                    margin = margin.max(state_box_w(&state_text(m, multi)) / 2.0);
                }
            }
            Row::Band(b) => {
                let (main, detail) = band_text(b, multi);
                inner = inner
                    .max(mono_w(&main, LABEL_PX))
                    .max(mono_w(&detail, NOTE_PX));
            }
            Row::Idle(g) => inner = inner.max(mono_w(&idle_text(*g), LABEL_PX)),
            Row::Cap { segments, states } => {
                inner = inner.max(mono_w(&cap_text(*segments, *states), LABEL_PX))
            }
        }
    }
    let margin = (margin + 16.0).ceil();
    let span = (inner + 2.0 * LABEL_PAD).ceil();
    let width = (2.0 * margin + span).max(min_w).ceil();
    // Centre the lifelines when the title or legend made the picture wider.
    let xl = ((width - span) / 2.0).floor();
    Geometry {
        xl,
        xr: xl + span,
        width,
    }
}

pub enum Swatch {
    Arrow(Kind),
    State { inferred: bool },
    Stream(usize, usize),
    None,
}

pub const MAX_LEGEND_STREAMS: usize = 16;

pub fn legend_entries(streams: &Streams) -> Vec<(Swatch, String)> {
    let mut v = vec![
        (Swatch::Arrow(Kind::Syn), "SYN".to_string()),
        (Swatch::Arrow(Kind::Fin), "FIN".to_string()),
        (Swatch::Arrow(Kind::Rst), "RST".to_string()),
        (Swatch::Arrow(Kind::Data), "data".to_string()),
        (Swatch::Arrow(Kind::Ack), "pure ACK".to_string()),
        (
            Swatch::State { inferred: false },
            "state reported".to_string(),
        ),
        (
            Swatch::State { inferred: true },
            "state (inferred)".to_string(),
        ),
    ];
    if streams.order.len() > 1 {
        for (i, id) in streams.order.iter().enumerate().take(MAX_LEGEND_STREAMS) {
            v.push((
                Swatch::Stream(*id, i % STREAM_COLOURS.len()),
                format!("stream {id}"),
            ));
        }
        // Past a screenful the colours repeat anyway; every label still says "#N".
        let more = streams.order.len().saturating_sub(MAX_LEGEND_STREAMS);
        if more > 0 {
            v.push((
                Swatch::None,
                format!("… {}", plural(more, "more stream", "more streams")),
            ));
        }
    }
    v
}

pub fn swatch_w(s: &Swatch) -> f64 {
    match s {
        Swatch::Arrow(_) => 30.0,
        Swatch::State { .. } => state_box_w("STATE"),
        Swatch::Stream(id, _) => state_box_w(&format!("#{id}")),
        // No sample: the text starts where the sample would.
        Swatch::None => -6.0,
    }
}

pub fn entry_w(s: &Swatch, text: &str) -> f64 {
    swatch_w(s) + 6.0 + mono_w(text, 11.0) + 18.0
}

/// Lays the legend out in lines no wider than `width`; returns each entry's (x, line).
pub fn legend_layout(entries: &[(Swatch, String)], width: f64) -> (Vec<(f64, usize)>, usize) {
    let mut pos = Vec::with_capacity(entries.len());
    let (mut x, mut line) = (16.0, 0);
    for (s, text) in entries {
        let w = entry_w(s, text);
        if x > 16.0 && x + w > width - 8.0 {
            x = 16.0;
            line += 1;
        }
        pos.push((x, line));
        x += w;
    }
    (pos, if entries.is_empty() { 0 } else { line + 1 })
}

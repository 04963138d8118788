//! The words of a ladder picture: arrow labels, state names, band summaries, times and
//! sizes, and the XML escaping every piece of text goes through.

use super::layout::{LABEL_PX, MONO_ADVANCE};
use super::plan::{Band, note_of};
use super::{Segment, StateMark};
use std::fmt::Write as _;

/// Longest text drawn on one line, in characters: longer labels are cut with "…" so one
/// odd label cannot make the picture kilometres wide.
pub const MAX_TEXT: usize = 120;
pub const MAX_NAME: usize = 48;

/// XML-escapes `s` for text and attribute values alike. Characters XML 1.0 forbids
/// (most C0 controls) become U+FFFD, and line breaks become spaces: every label is one
/// line, and a stray control byte in a capture must not make the document unreadable.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => {
                out.push(c)
            }
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// `s` cut to at most `max` characters, ending in "…" when cut.
pub fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Width of `s` drawn in a monospace font of `px` pixels. Every generic monospace font
/// (DejaVu Sans Mono, Liberation Mono, Courier) advances about 0.6 em a character, which
/// is what makes sizing the picture to its labels possible without measuring glyphs.
pub fn mono_w(s: &str, px: f64) -> f64 {
    s.chars().count() as f64 * px * MONO_ADVANCE
}

/// The same for the sans-serif title; its glyphs average a little under 0.6 em.
pub fn sans_w(s: &str, px: f64) -> f64 {
    s.chars().count() as f64 * px * 0.58
}

pub fn fmt_time(t: f64) -> String {
    if t.is_finite() {
        format!("{t:.6} s")
    } else {
        "? s".to_string()
    }
}

pub fn fmt_dur(d: f64) -> String {
    if !d.is_finite() {
        "?".to_string()
    } else if d < 0.001 {
        format!("{:.0} µs", d * 1e6)
    } else if d < 1.0 {
        format!("{:.1} ms", d * 1e3)
    } else {
        format!("{d:.1} s")
    }
}

pub fn fmt_bytes(b: u64) -> String {
    let b = b as f64;
    if b < 1e3 {
        format!("{b} B")
    } else if b < 1e4 {
        format!("{:.1} KB", b / 1e3)
    } else if b < 1e6 {
        format!("{:.0} KB", b / 1e3)
    } else if b < 1e7 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} MB", b / 1e6)
    }
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The texts of one arrow.
pub struct SegText {
    /// "#3" when streams are interleaved (drawn with a space after it).
    pub tag: String,
    /// "[SYN, ACK]".
    pub flags: String,
    /// " Seq=0 Ack=1 …", cut so that tag + flags + rest fit [`MAX_TEXT`].
    pub rest: String,
    pub note: Option<String>,
    pub time: String,
    pub frame: String,
}

impl SegText {
    pub fn new(s: &Segment, multi: bool) -> Self {
        let tag = if multi {
            format!("#{}", s.stream)
        } else {
            String::new()
        };
        let flags = if s.flags.is_empty() {
            "[none]".to_string()
        } else {
            clip(&format!("[{}]", s.flags.wireshark()), 40)
        };
        let room = MAX_TEXT.saturating_sub(tag.chars().count() + flags.chars().count() + 2);
        let label = clip(&s.label, room);
        let rest = if label.is_empty() {
            String::new()
        } else {
            format!(" {label}")
        };
        SegText {
            tag,
            flags,
            rest,
            note: note_of(s).map(|n| clip(n, MAX_TEXT)),
            time: fmt_time(s.time),
            frame: format!("frame {}", s.frame),
        }
    }

    pub fn width(&self) -> f64 {
        mono_w(
            &format!("{} {}{}", self.tag, self.flags, self.rest),
            LABEL_PX,
        )
    }
}

pub fn state_text(m: &StateMark, multi: bool) -> String {
    let name = clip(m.state.name(), 32);
    if multi {
        format!("#{} {name}", m.stream)
    } else {
        name
    }
}

/// The band's two lines: the summary, and where to find the hidden frames.
pub fn band_text(b: &Band, multi: bool) -> (String, String) {
    let tag = if multi {
        format!("#{} ", b.stream)
    } else {
        String::new()
    };
    let (data_dir, ack_dir) = if b.from_left {
        ("→", "←")
    } else {
        ("←", "→")
    };
    if b.data == 0 {
        // A run of pure ACKs alone (after a burst that ended with a note): its own band.
        let main = format!(
            "⋮ {tag}{} in {} ⋮",
            plural(b.acks, "more ACK", "more ACKs"),
            fmt_dur(b.last_time - b.first_time),
        );
        let detail = format!(
            "frames {}–{} not drawn · ACKs {data_dir}",
            b.first_frame, b.last_frame
        );
        return (main, detail);
    }
    let acks = if b.acks > 0 {
        format!(" and {}", plural(b.acks, "ACK", "ACKs"))
    } else {
        String::new()
    };
    let main = format!(
        "⋮ {tag}{} ({}){acks} in {} ⋮",
        plural(b.data, "more segment", "more segments"),
        fmt_bytes(b.bytes),
        fmt_dur(b.last_time - b.first_time),
    );
    let mut detail = format!(
        "frames {}–{} not drawn · data {data_dir}",
        b.first_frame, b.last_frame
    );
    if b.acks > 0 {
        let _ = write!(detail, " · ACKs {ack_dir}");
    }
    (main, detail)
}

pub fn idle_text(gap: f64) -> String {
    format!("… {} idle …", fmt_dur(gap))
}

pub fn cap_text(segments: usize, states: usize) -> String {
    match (segments, states) {
        (0, s) => format!(
            "… {} not drawn",
            plural(s, "more state change", "more state changes")
        ),
        (n, 0) => format!("… {} not drawn", plural(n, "more segment", "more segments")),
        (n, s) => format!(
            "… {} not drawn (and {})",
            plural(n, "more segment", "more segments"),
            plural(s, "state change", "state changes")
        ),
    }
}

//! A graph as values: a [`Plot`] is a title, notes, the quantities on its axes and its
//! [`Series`], each a list of [`Point`]s in base units (seconds, bytes, bit/s, ms) with
//! a [`Style`] that stays readable in black and white: its shape, dash pattern and
//! weight tell it apart, the colour only helps.
//!
//! The kinds of [`super::kinds`] make plots; [`super::svg`] draws them and
//! [`super::data`] writes their points as text.

use super::axes::Quantity;

/// A marker's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A small filled disc.
    Dot,
    /// A hollow circle.
    Ring,
    /// A filled square.
    Square,
    /// A hollow triangle, point up.
    Triangle,
    /// An ×.
    Cross,
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draw {
    /// A vertical bar from `y` to `top` at each point (a segment's sequence range), with
    /// an optional marker at the top.
    Bars(Option<Shape>),
    /// A line that holds each value until the next point (a window, an ACK number).
    Steps,
    /// Straight lines from point to point.
    Line,
    /// A marker at each point.
    Marks(Shape),
}

/// A series' look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub draw: Draw,
    pub colour: &'static str,
    /// SVG stroke-dasharray, for lines.
    pub dash: Option<&'static str>,
    /// Stroke width in pixels.
    pub width: f64,
}

/// One point, in base units; `top == y` unless the series draws bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The frame it comes from.
    pub frame: u64,
    pub x: f64,
    pub y: f64,
    pub top: f64,
}

impl Point {
    pub fn at(frame: u64, x: f64, y: f64) -> Point {
        Point {
            frame,
            x,
            y,
            top: y,
        }
    }

    pub fn bar(frame: u64, x: f64, y: f64, top: f64) -> Point {
        Point { frame, x, y, top }
    }
}

/// Which vertical axis a series is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

/// One series of a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Its name in data files: one word.
    pub key: &'static str,
    pub style: Style,
    pub side: Side,
    /// Whether the axes' range covers it (else what lies outside is cut off).
    pub sets_range: bool,
    pub points: Vec<Point>,
}

impl Series {
    pub fn new(key: &'static str, name: impl Into<String>, style: Style) -> Series {
        Series {
            name: name.into(),
            key,
            style,
            side: Side::Left,
            sets_range: true,
            points: Vec::new(),
        }
    }

    pub fn on_right(mut self) -> Series {
        self.side = Side::Right;
        self
    }
}

/// A vertical axis' quantity and name.
#[derive(Debug, Clone, PartialEq)]
pub struct YAxis {
    pub quantity: Quantity,
    /// "Sequence number": the unit is added when drawn.
    pub name: String,
    /// The axis starts at zero (else at the data's lowest value).
    pub from_zero: bool,
}

/// One graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    pub title: String,
    /// Lines under the title: what is drawn, how it was chosen, what was left out.
    pub notes: Vec<String>,
    pub x_name: String,
    pub y: YAxis,
    pub y2: Option<YAxis>,
    pub series: Vec<Series>,
}

impl Plot {
    /// The range of the points on `side` (of the series that set the range), in x and
    /// in y: ((lo, hi), (lo, hi)).
    pub fn extent(&self, side: Option<Side>) -> Option<((f64, f64), (f64, f64))> {
        let mut e: Option<((f64, f64), (f64, f64))> = None;
        let pts = self
            .series
            .iter()
            .filter(|s| s.sets_range && side.is_none_or(|d| s.side == d))
            .flat_map(|s| &s.points);
        for p in pts {
            let (ylo, yhi) = (p.y.min(p.top), p.y.max(p.top));
            e = Some(match e {
                None => ((p.x, p.x), (ylo, yhi)),
                Some(((a, b), (c, d))) => ((a.min(p.x), b.max(p.x)), (c.min(ylo), d.max(yhi))),
            });
        }
        e
    }

    /// Number of points over all series.
    pub fn len(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

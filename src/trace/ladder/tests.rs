//! The ladder pictures, checked as documents: well-formed XML (a small checker below),
//! the arrows, states, bands, breaks and caps a picture must show, and (when
//! rsvg-convert is installed) a rendering to PNG a person can look at.

use super::*;
use crate::tcp::{TcpFlags, TcpState};

/// Flags from Wireshark's names ("SYN, ACK"): the fixtures read as the listing shows them.
fn fl(names: &str) -> TcpFlags {
    names
        .split(", ")
        .filter(|n| !n.is_empty())
        .map(|n| match n {
            "FIN" => TcpFlags::FIN,
            "SYN" => TcpFlags::SYN,
            "RST" => TcpFlags::RST,
            "PSH" => TcpFlags::PSH,
            "ACK" => TcpFlags::ACK,
            "URG" => TcpFlags::URG,
            "ECE" => TcpFlags::ECE,
            "CWR" => TcpFlags::CWR,
            other => panic!("flag {other}"),
        })
        .fold(TcpFlags::empty(), |a, b| a | b)
}

/// A state from its name in the reports ("SYN_RCVD").
fn st(name: &str) -> TcpState {
    TcpState::ALL
        .into_iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("state {name}"))
}

/// Builds ladders item by item, numbering frames as a capture would.
#[derive(Default)]
struct B {
    items: Vec<Item>,
    frame: u64,
}

impl B {
    #[allow(clippy::too_many_arguments)]
    fn seg_in(
        &mut self,
        stream: usize,
        time: f64,
        from_left: bool,
        flags: &str,
        label: &str,
        len: usize,
        note: Option<&str>,
    ) -> &mut Self {
        self.frame += 1;
        self.items.push(Item::Segment(Segment {
            frame: self.frame,
            time,
            from_left,
            stream,
            flags: fl(flags),
            label: label.to_string(),
            len,
            note: note.map(str::to_string),
        }));
        self
    }

    fn seg(
        &mut self,
        time: f64,
        from_left: bool,
        flags: &str,
        label: &str,
        len: usize,
        note: Option<&str>,
    ) -> &mut Self {
        self.seg_in(0, time, from_left, flags, label, len, note)
    }

    fn state_in(
        &mut self,
        stream: usize,
        time: f64,
        left: bool,
        state: &str,
        inferred: bool,
    ) -> &mut Self {
        self.items.push(Item::State(StateMark {
            time,
            left,
            stream,
            state: st(state),
            inferred,
        }));
        self
    }

    fn state(&mut self, time: f64, left: bool, state: &str) -> &mut Self {
        // As taplab sees it: the server's states come from its own stack, the
        // client's are deduced from the segments.
        self.state_in(0, time, left, state, left)
    }

    fn ladder(&self, title: &str) -> Ladder {
        Ladder {
            title: title.to_string(),
            left: "client 192.168.69.100".to_string(),
            right: "server 192.168.69.1:80".to_string(),
            items: self.items.clone(),
        }
    }
}

/// Handshake on stream `s` between `t` and `t + 0.0002`.
fn handshake(b: &mut B, s: usize, t: f64) {
    b.state_in(s, t, true, "SYN_SENT", true)
        .seg_in(s, t, true, "SYN", "Seq=0 Win=64240 Len=0 MSS=1460", 0, None)
        .state_in(s, t, false, "SYN_RCVD", false)
        .seg_in(
            s,
            t + 0.0001,
            false,
            "SYN, ACK",
            "Seq=0 Ack=1 Len=0",
            0,
            None,
        )
        .state_in(s, t + 0.0001, true, "ESTABLISHED", true)
        .seg_in(s, t + 0.0002, true, "ACK", "Seq=1 Ack=1 Len=0", 0, None)
        .state_in(s, t + 0.0002, false, "ESTABLISHED", false);
}

/// The four-way close, client first.
fn close(b: &mut B, t: f64) {
    b.state(t, true, "FIN_WAIT_1")
        .seg(t, true, "FIN, ACK", "Seq=77 Ack=1928 Len=0", 0, None)
        .state(t, false, "CLOSE_WAIT")
        .seg(t + 0.0001, false, "ACK", "Seq=1928 Ack=78 Len=0", 0, None)
        .state(t + 0.0001, true, "FIN_WAIT_2")
        .state(t + 0.0001, false, "LAST_ACK")
        .seg(
            t + 0.0002,
            false,
            "FIN, ACK",
            "Seq=1928 Ack=78 Len=0",
            0,
            None,
        )
        .state(t + 0.0002, true, "TIME_WAIT")
        .seg(t + 0.0003, true, "ACK", "Seq=78 Ack=1929 Len=0", 0, None)
        .state(t + 0.0003, false, "CLOSED");
}

/// A small page fetch: handshake, GET, a two-segment response, ACKs, close.
fn page_fetch() -> Ladder {
    let mut b = B::default();
    handshake(&mut b, 0, 0.0);
    b.seg(
        0.0003,
        true,
        "PSH, ACK",
        "Seq=1 Ack=1 Len=76",
        76,
        Some("GET / HTTP/1.1"),
    )
    .seg(0.0004, false, "ACK", "Seq=1 Ack=77 Len=0", 0, None)
    .seg(0.0009, false, "ACK", "Seq=1 Ack=77 Len=1448", 1448, None)
    .seg(
        0.0010,
        false,
        "PSH, ACK",
        "Seq=1449 Ack=77 Len=479",
        479,
        Some("HTTP/1.1 200 OK (text/html)"),
    )
    .seg(0.0011, true, "ACK", "Seq=77 Ack=1928 Len=0", 0, None);
    close(&mut b, 0.002);
    b.ladder("GET /")
}

/// `n` bulk segments from the server, each second one ACKed by the client, after a
/// handshake; then the client's final ACK is the last item.
fn bulk(n: usize) -> Ladder {
    let mut b = B::default();
    handshake(&mut b, 0, 0.0);
    for i in 1..=n {
        let t = i as f64 * 0.0001;
        b.seg(t, false, "ACK", &format!("Len=1448 #{i}"), 1448, None);
        if i % 2 == 0 {
            b.seg(t + 0.00001, true, "ACK", &format!("ack #{i}"), 0, None);
        }
    }
    b.ladder("bulk")
}

fn arrows(svg: &str) -> usize {
    svg.matches("<line class=\"arrow\" ").count()
}

/// The y of the text element whose content ends in `needle` ("…>TEXT<").
fn text_y(svg: &str, needle: &str) -> f64 {
    let at = svg.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
    let y = &tag[tag.find(" y=\"").unwrap() + 4..];
    y[..y.find('"').unwrap()].parse().unwrap()
}

fn render(l: &Ladder) -> String {
    let svg = render_svg(l, &LadderOptions::default());
    check_xml(&svg).unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}"));
    svg
}

// -----------------------------------------------------------------------------------
// A small XML well-formedness checker: enough of XML 1.0 for what the renderer emits
// (declaration, comments, elements, quoted attributes, text, entity references), and
// strict about exactly the mistakes a hand-written SVG writer can make.

fn check_entities(s: &str) -> Result<(), String> {
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        let after = &rest[i + 1..];
        let end = after
            .find(';')
            .ok_or_else(|| format!("unterminated & in {s:?}"))?;
        let name = &after[..end];
        let ok = match name {
            "amp" | "lt" | "gt" | "quot" | "apos" => true,
            _ => {
                let code = if let Some(h) = name.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = name.strip_prefix('#') {
                    d.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32).is_some()
            }
        };
        if !ok {
            return Err(format!("bad entity &{name}; in {s:?}"));
        }
        rest = &after[end + 1..];
    }
    if s.contains('<') {
        return Err(format!("raw < in {s:?}"));
    }
    if let Some(c) = s.chars().find(|c| {
        (*c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    }) {
        return Err(format!("character {c:?} is not allowed in XML"));
    }
    Ok(())
}

/// Length in bytes of the XML name at the start of `s` (0 if none).
fn name_len(s: &str) -> usize {
    let start = |c: char| c.is_alphabetic() || c == '_' || c == ':';
    let more = |c: char| start(c) || c.is_alphanumeric() || c == '-' || c == '.';
    s.char_indices()
        .find(|&(i, c)| if i == 0 { !start(c) } else { !more(c) })
        .map_or(s.len(), |(i, _)| i)
}

fn check_xml(doc: &str) -> Result<(), String> {
    let mut rest = doc;
    if rest.starts_with("<?xml") {
        let end = rest.find("?>").ok_or("unclosed XML declaration")?;
        rest = &rest[end + 2..];
    }
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("<!--") {
            let end = r.find("-->").ok_or("unclosed comment")?;
            rest = &r[end + 3..];
        } else if let Some(r) = rest.strip_prefix("</") {
            let n = name_len(r);
            let name = &r[..n];
            let r = r[n..].trim_start();
            let r = r.strip_prefix('>').ok_or(format!("bad end tag </{name}"))?;
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            rest = r;
        } else if let Some(r) = rest.strip_prefix('<') {
            let n = name_len(r);
            if n == 0 {
                return Err(format!("bad tag at {:?}", &r[..r.len().min(20)]));
            }
            let name = &r[..n];
            if stack.is_empty() {
                roots += 1;
            }
            let mut r = &r[n..];
            let mut seen = Vec::new();
            loop {
                let t = r.trim_start();
                if let Some(t) = t.strip_prefix("/>") {
                    r = t;
                    break;
                }
                if let Some(t) = t.strip_prefix('>') {
                    stack.push(name);
                    r = t;
                    break;
                }
                if t.len() == r.len() {
                    return Err(format!("no space before attribute in <{name}"));
                }
                let an = name_len(t);
                if an == 0 {
                    return Err(format!(
                        "bad attribute in <{name}: {:?}",
                        &t[..t.len().min(20)]
                    ));
                }
                let attr = &t[..an];
                if seen.contains(&attr) {
                    return Err(format!("duplicate {attr} in <{name}"));
                }
                seen.push(attr);
                let t = t[an..].trim_start();
                let t = t
                    .strip_prefix('=')
                    .ok_or(format!("{attr} without = in <{name}"))?;
                let t = t.trim_start();
                let q = t.chars().next().filter(|c| *c == '"' || *c == '\'');
                let q = q.ok_or(format!("unquoted {attr} in <{name}"))?;
                let end = t[1..]
                    .find(q)
                    .ok_or(format!("unclosed {attr} in <{name}"))?;
                check_entities(&t[1..1 + end])?;
                r = &t[end + 2..];
            }
            rest = r;
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = &rest[..end];
            if stack.is_empty() && !text.trim().is_empty() {
                return Err(format!("text outside the root: {text:?}"));
            }
            check_entities(text)?;
            rest = &rest[end..];
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(())
}

#[test]
fn the_checker_catches_what_it_should() {
    assert!(
        check_xml("<?xml version=\"1.0\"?>\n<a x=\"1\" y='&amp;'><b/>t &lt; &#x2192;</a>\n")
            .is_ok()
    );
    for bad in [
        "<a><b></a></b>",
        "<a x=1/>",
        "<a x=\"1\" x=\"2\"/>",
        "<a>&bogus;</a>",
        "<a>x & y</a>",
        "<a>x < y</a>",
        "<a x=\"<\"/>",
        "<a/><b/>",
        "<a>",
        "<a x=\"1\"y=\"2\"/>",
        "<a>\u{1}</a>",
        "text<a/>",
    ] {
        assert!(check_xml(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn default_options() {
    let o = LadderOptions::default();
    assert_eq!((o.condense_after, o.max_items), (6, 400));
}

#[test]
fn a_page_fetch_has_one_arrow_per_segment_and_its_states() {
    let l = page_fetch();
    let svg = render(&l);
    assert_eq!(
        arrows(&svg),
        12,
        "3 handshake + GET + ACK + 2 data + ACK + 4 close"
    );
    assert_eq!(svg.matches("<path class=\"head\" ").count(), 12);
    assert_eq!(svg.matches("class=\"seg syn\"").count(), 2);
    assert_eq!(svg.matches("class=\"seg fin\"").count(), 2);
    assert_eq!(svg.matches("class=\"seg data\"").count(), 3);
    assert_eq!(svg.matches("class=\"seg ack\"").count(), 5);
    for state in [
        "SYN_SENT",
        "SYN_RCVD",
        "ESTABLISHED",
        "FIN_WAIT_1",
        "CLOSE_WAIT",
        "FIN_WAIT_2",
        "LAST_ACK",
        "TIME_WAIT",
        "CLOSED",
    ] {
        assert!(svg.contains(&format!(">{state}</text>")), "{state}");
    }
    // The client's states are inferred, the server's are not; plus one legend swatch each.
    assert_eq!(svg.matches("<g class=\"state inf\">").count(), 6);
    assert_eq!(svg.matches("<g class=\"state\">").count(), 6);
    assert!(svg.contains("state (inferred)"));
    assert!(svg.contains("[SYN, ACK]</tspan> Seq=0 Ack=1 Len=0"));
    assert!(svg.contains(">GET / HTTP/1.1</text>"));
    assert!(svg.contains(">frame 1</text>") && svg.contains(">0.000300 s</text>"));
    // FIN_WAIT_2 and LAST_ACK follow each other on different lifelines: one row.
    assert_eq!(text_y(&svg, ">FIN_WAIT_2<"), text_y(&svg, ">LAST_ACK<"));
    assert!(text_y(&svg, ">SYN_SENT<") < text_y(&svg, ">SYN_RCVD<"));
    assert!(!svg.contains("<g class=\"band\">") && !svg.contains("<text class=\"idle\""));
    assert!(svg.contains("<title>GET /</title>"));
    assert!(!svg.contains("<script") && !svg.contains("href"));
}

#[test]
fn text_is_escaped() {
    let mut b = B::default();
    b.seg(
        0.0,
        true,
        "PSH, ACK",
        "Seq=1 <x> & \"q\" 'a' → ü\u{1}\nend",
        3,
        Some("a<b&c"),
    )
    .state_in(0, 0.0, true, "ESTABLISHED", false);
    let mut l = b.ladder("a < b & \"c\"");
    l.left = "client <1>".to_string();
    let svg = render(&l);
    assert!(
        svg.contains("Seq=1 &lt;x&gt; &amp; &quot;q&quot; &apos;a&apos; → ü\u{FFFD} end</text>")
    );
    assert!(svg.contains(">a&lt;b&amp;c</text>"));
    assert!(svg.contains("<title>a &lt; b &amp; &quot;c&quot;</title>"));
    assert!(svg.contains(">client &lt;1&gt;</text>"));
    assert!(!svg.contains("<x>") && !svg.contains('\u{1}'));
}

#[test]
fn long_labels_are_cut_and_widen_the_picture() {
    let mut b = B::default();
    b.seg(0.0, true, "ACK", &"x".repeat(500), 0, None);
    let svg = render(&b.ladder("wide"));
    assert!(svg.contains(&format!("{}…</text>", "x".repeat(112))));
    let short = render(&page_fetch());
    let width = |s: &str| -> f64 {
        let w = s.split("width=\"").nth(1).unwrap();
        w[..w.find('"').unwrap()].parse().unwrap()
    };
    assert!(width(&svg) > width(&short));
    assert!(width(&svg) < 1400.0, "{}", width(&svg));
}

#[test]
fn a_300_segment_run_is_condensed_to_two_a_band_and_two() {
    let svg = render(&bulk(300));
    // 3 handshake + data 1, 2 + data 299, 300 + the ACK of 300 after the run.
    assert_eq!(arrows(&svg), 8);
    assert_eq!(svg.matches("<g class=\"band\">").count(), 1);
    // Hidden: data 3..=298 and the ACKs of 2, 4, …, 298.
    assert!(
        svg.contains("⋮ 296 more segments (429 KB) and 149 ACKs in 29.6 ms ⋮"),
        "{svg}"
    );
    assert!(svg.contains("frames 6–450 not drawn · data ← · ACKs →"));
    for shown in ["#1<", "#2<", "#299<", "#300<", "ack #300<"] {
        assert!(svg.contains(&format!("Len=1448 {shown}")) || svg.contains(shown));
    }
    assert!(!svg.contains("Len=1448 #3<") && !svg.contains("ack #2<"));
}

#[test]
fn condensing_starts_just_past_condense_after() {
    let six = render(&bulk(6));
    assert_eq!(arrows(&six), 3 + 6 + 3);
    assert!(!six.contains("class=\"band\""));
    let seven = render(&bulk(7));
    // 2 + band + 2 + the ACK of 6 that lies between the last two.
    assert_eq!(arrows(&seven), 3 + 2 + 2 + 1);
    assert!(seven.contains("⋮ 3 more segments (4.3 KB) and 2 ACKs in "));
    let opts = LadderOptions {
        condense_after: 100,
        ..LadderOptions::default()
    };
    let svg = render_svg(&bulk(50), &opts);
    assert!(!svg.contains("class=\"band\""));
}

#[test]
fn notes_flags_and_other_streams_are_never_condensed() {
    let mut b = B::default();
    for i in 0..20 {
        let note = (i == 10).then_some("TCP Retransmission");
        b.seg(i as f64 * 0.001, false, "ACK", "data", 1000, note);
    }
    b.seg(0.03, false, "FIN, PSH, ACK", "data", 1000, None);
    for i in 0..20 {
        b.seg(0.04 + i as f64 * 0.001, false, "ACK", "data", 1000, None);
        b.seg_in(
            1,
            0.04 + i as f64 * 0.001,
            true,
            "ACK",
            "other stream",
            0,
            None,
        );
    }
    let svg = render(&b.ladder("x"));
    // Two runs of 10 and 9 around the retransmission, each condensed; the FIN and the
    // interleaved run (broken at every step by stream 1) are drawn whole.
    assert_eq!(svg.matches("class=\"band\"").count(), 2);
    assert!(svg.contains("⋮ #0 6 more segments (6.0 KB) in "));
    assert!(svg.contains("⋮ #0 5 more segments (5.0 KB) in "));
    assert!(svg.contains(">TCP Retransmission</text>"));
    assert_eq!(arrows(&svg), 4 + 1 + 4 + 1 + 40);
}

#[test]
fn idle_gaps_over_a_second_get_a_break() {
    let mut b = B::default();
    b.seg(0.0, true, "ACK", "a", 0, None)
        .seg(0.9, false, "ACK", "b", 0, None)
        .seg(5.9, true, "ACK", "c", 0, None)
        .state(6.0, true, "FIN_WAIT_1")
        .state(8.5, true, "FIN_WAIT_2");
    let svg = render(&b.ladder("idle"));
    assert!(svg.contains(">… 5.0 s idle …</text>"));
    assert!(svg.contains(">… 2.5 s idle …</text>"));
    assert_eq!(svg.matches("class=\"idle\"").count(), 2);
    // Each break interrupts both lifelines.
    assert_eq!(svg.matches("<line class=\"lifegap\"").count(), 4);
    assert!(!render(&page_fetch()).contains("class=\"idle\""));
}

#[test]
fn rows_are_capped() {
    let mut b = B::default();
    for i in 0..1000 {
        b.seg(i as f64 * 1e-4, i % 2 == 0, "ACK", "x", 0, Some("Dup ACK"));
    }
    b.state(0.2, true, "ESTABLISHED")
        .state(0.2, false, "ESTABLISHED")
        .state(0.3, true, "FIN_WAIT_1");
    let l = b.ladder("cap");
    let opts = LadderOptions {
        max_items: 50,
        ..LadderOptions::default()
    };
    let svg = render_svg(&l, &opts);
    check_xml(&svg).unwrap();
    assert_eq!(arrows(&svg), 50);
    assert!(svg.contains(">… 950 more segments not drawn (and 3 state changes)</text>"));
    // The default cap of 400 rows.
    let svg = render(&l);
    assert_eq!(arrows(&svg), 400);
    assert!(svg.contains("… 600 more segments not drawn"));
    // A band counts as one row, and what it hides counts as not drawn when cut.
    let opts = LadderOptions {
        max_items: 5,
        ..LadderOptions::default()
    };
    let svg = render_svg(&bulk(300), &opts);
    assert!(svg.contains(">… 451 more segments not drawn (and 1 state change)</text>"));
    let opts = LadderOptions {
        max_items: 0,
        ..LadderOptions::default()
    };
    let svg = render_svg(&page_fetch(), &opts);
    check_xml(&svg).unwrap();
    assert_eq!(arrows(&svg), 0);
    assert!(svg.contains("… 12 more segments not drawn (and 10 state changes)"));
}

#[test]
fn a_huge_capture_stays_cheap() {
    let mut b = B::default();
    for i in 0..200_000 {
        let from_left = i % 3 == 0;
        b.seg_in(i % 50, i as f64 * 1e-5, from_left, "ACK", "Len=0", 0, None);
    }
    let start = std::time::Instant::now();
    let svg = render(&b.ladder("huge"));
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(arrows(&svg), 400);
    assert!(svg.contains(">… 199600 more segments not drawn</text>"));
    // The legend names the first 16 streams only.
    assert!(svg.contains(">stream 15</text>") && !svg.contains(">stream 16</text>"));
    assert!(svg.contains(">… 34 more streams</text>"));
    assert!(svg.len() < 1_000_000, "{} bytes", svg.len());
}

#[test]
fn interleaved_streams_are_tagged_and_coloured() {
    let mut b = B::default();
    handshake(&mut b, 3, 0.0);
    handshake(&mut b, 4, 0.00005);
    // Interleave the two handshakes as two parallel connections would be.
    let (s3, s4) = b.items.split_at(7);
    let mut items = Vec::new();
    for (x, y) in s3.iter().zip(s4) {
        items.push(x.clone());
        items.push(y.clone());
    }
    let l = Ladder {
        items,
        ..b.ladder("two connections")
    };
    let svg = render(&l);
    assert_eq!(arrows(&svg), 6);
    assert!(svg.contains("<tspan class=\"tag sc0\">#3</tspan> <tspan"));
    assert!(svg.contains("<tspan class=\"tag sc1\">#4</tspan> <tspan"));
    assert_eq!(svg.matches("<g class=\"state inf sc1\">").count(), 2);
    // Two marks and the legend's swatch.
    assert_eq!(svg.matches("<g class=\"state sc0\">").count(), 3);
    assert!(svg.contains(">#4 ESTABLISHED</text>"));
    assert!(svg.contains(">stream 3</text>") && svg.contains(">stream 4</text>"));
    assert!(svg.contains(".tag.sc1{fill:#0a7a7a}"));
    assert!(svg.contains("2 streams"));
    // One stream: no tags, no stream legend.
    let one = render(&page_fetch());
    assert!(!one.contains("class=\"tag") && !one.contains(">stream "));
}

#[test]
fn an_empty_ladder_is_still_a_picture() {
    let svg = render(&Ladder::default());
    assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains("viewBox=\"0 0 "));
    assert!(svg.contains("<title>TCP ladder</title>"));
    assert!(svg.contains(">no segments</text>"));
    assert_eq!(arrows(&svg), 0);
}

/// The lab's own exchange, as the tap captures it: `GET /` then `GET /intro.wav`,
/// whose 260-segment response is condensed, then the client closes. (Long because it is
/// one capture written out segment by segment; splitting it would only scatter it.)
fn sample() -> Ladder {
    let mut b = B::default();
    b.state(0.0, true, "CLOSED")
        .state(0.0, false, "LISTEN")
        .state(0.0, true, "SYN_SENT")
        .seg(
            0.0,
            true,
            "SYN",
            "Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM TSval=2941530637 TSecr=0 WS=1024",
            0,
            None,
        )
        .state(0.000_094, false, "SYN_RCVD")
        .seg(
            0.000_094,
            false,
            "SYN, ACK",
            "Seq=0 Ack=1 Win=65535 Len=0 MSS=1460 WS=128 SACK_PERM TSval=4102 TSecr=2941530637",
            0,
            None,
        )
        .state(0.000_121, true, "ESTABLISHED")
        .seg(
            0.000_121,
            true,
            "ACK",
            "Seq=1 Ack=1 Win=64512 Len=0 TSval=2941530637 TSecr=4102",
            0,
            None,
        )
        .state(0.000_121, false, "ESTABLISHED")
        .seg(
            0.000_315,
            true,
            "PSH, ACK",
            "Seq=1 Ack=1 Win=64512 Len=76 TSval=2941530637 TSecr=4102",
            76,
            Some("GET / HTTP/1.1"),
        )
        .seg(
            0.000_402,
            false,
            "ACK",
            "Seq=1 Ack=77 Win=65459 Len=0",
            0,
            None,
        )
        .seg(
            0.000_980,
            false,
            "ACK",
            "Seq=1 Ack=77 Win=65459 Len=1448",
            1448,
            None,
        )
        .seg(
            0.000_995,
            false,
            "PSH, ACK",
            "Seq=1449 Ack=77 Win=65459 Len=479",
            479,
            Some("HTTP/1.1 200 OK  (text/html)"),
        )
        .seg(
            0.001_030,
            true,
            "ACK",
            "Seq=77 Ack=1449 Win=63488 Len=0",
            0,
            None,
        )
        .seg(
            0.001_041,
            true,
            "ACK",
            "Seq=77 Ack=1928 Win=63488 Len=0",
            0,
            None,
        )
        .seg(
            4.203_110,
            true,
            "PSH, ACK",
            "Seq=77 Ack=1928 Win=64512 Len=83",
            83,
            Some("GET /intro.wav HTTP/1.1"),
        )
        .seg(
            4.203_190,
            false,
            "ACK",
            "Seq=1928 Ack=160 Win=65376 Len=0",
            0,
            None,
        );
    let mut seq = 1928;
    for i in 0..260 {
        let t = 4.2035 + i as f64 * 0.000_05;
        let last = i == 259;
        let len = if last { 733 } else { 1448 };
        let label = format!("Seq={seq} Ack=160 Win=65376 Len={len}");
        if last {
            b.seg(
                t,
                false,
                "PSH, ACK",
                &label,
                len,
                Some("HTTP/1.1 200 OK  (audio/x-wav)"),
            );
        } else {
            b.seg(t, false, "ACK", &label, len, None);
        }
        seq += len;
        if i % 2 == 1 || last {
            let ack = format!("Seq=160 Ack={seq} Win=64512 Len=0");
            b.seg(t + 0.000_02, true, "ACK", &ack, 0, None);
        }
    }
    let t = 4.2035 + 260.0 * 0.000_05 + 0.4;
    b.state(t, true, "FIN_WAIT_1")
        .seg(
            t,
            true,
            "FIN, ACK",
            &format!("Seq=160 Ack={seq} Win=64512 Len=0"),
            0,
            None,
        )
        .state(t + 0.000_08, false, "CLOSE_WAIT")
        .seg(
            t + 0.000_08,
            false,
            "ACK",
            &format!("Seq={seq} Ack=161 Win=65376 Len=0"),
            0,
            None,
        )
        .state(t + 0.000_08, true, "FIN_WAIT_2")
        .state(t + 0.000_3, false, "LAST_ACK")
        .seg(
            t + 0.000_3,
            false,
            "FIN, ACK",
            &format!("Seq={seq} Ack=161 Win=65376 Len=0"),
            0,
            None,
        )
        .state(t + 0.000_33, true, "TIME_WAIT")
        .seg(
            t + 0.000_33,
            true,
            "ACK",
            &format!("Seq=161 Ack={} Win=64512 Len=0", seq + 1),
            0,
            None,
        )
        .state(t + 0.000_33, false, "CLOSED");
    b.ladder("taplab: GET / and GET /intro.wav, then the client closes")
}

/// A browser's two parallel connections: stream 0 fetches the page, stream 1 a
/// stylesheet and is then reset.
fn two_streams() -> Ladder {
    let mut b = B::default();
    handshake(&mut b, 0, 0.0);
    handshake(&mut b, 1, 0.000_05);
    let (s0, s1) = b.items.split_at(7);
    let mut items = Vec::new();
    for (x, y) in s0.iter().zip(s1) {
        items.push(x.clone());
        items.push(y.clone());
    }
    b.items = items;
    b.seg_in(
        0,
        0.0004,
        true,
        "PSH, ACK",
        "Seq=1 Ack=1 Len=76",
        76,
        Some("GET / HTTP/1.1"),
    )
    .seg_in(
        1,
        0.0005,
        true,
        "PSH, ACK",
        "Seq=1 Ack=1 Len=84",
        84,
        Some("GET /style.css HTTP/1.1"),
    );
    for i in 0..8 {
        let t = 0.0006 + i as f64 * 0.000_1;
        b.seg_in(
            0,
            t,
            false,
            "ACK",
            &format!("Seq={} Ack=77 Len=1448", 1 + 1448 * i),
            1448,
            None,
        );
    }
    b.seg_in(0, 0.0015, true, "ACK", "Seq=77 Ack=11585 Len=0", 0, None)
        .seg_in(
            1,
            0.0016,
            false,
            "PSH, ACK",
            "Seq=1 Ack=85 Len=912",
            912,
            Some("HTTP/1.1 200 OK  (text/css)"),
        )
        .seg_in(1, 0.0017, true, "RST, ACK", "Seq=85 Ack=913 Len=0", 0, None)
        .state_in(1, 0.0017, true, "CLOSED", true)
        .state_in(1, 0.0017, false, "CLOSED", false);
    b.ladder("two connections, one reset")
}

/// Writes `svg` and, when rsvg-convert is installed, its rendering to
/// target/test-artifacts/NAME.{svg,png} where a person can look at them; checks the
/// rendering succeeded and returns the PNG.
fn to_png(name: &str, svg: &str) -> Option<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let (svg_path, png_path) = (
        dir.join(format!("{name}.svg")),
        dir.join(format!("{name}.png")),
    );
    std::fs::write(&svg_path, svg).unwrap();
    let have = std::process::Command::new("rsvg-convert")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("rsvg-convert missing (Debian: librsvg2-bin): not rendering {svg_path:?}");
        return None;
    }
    let _ = std::fs::remove_file(&png_path);
    let out = std::process::Command::new("rsvg-convert")
        .arg("-o")
        .arg(&png_path)
        .arg(&svg_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "rsvg-convert: {stderr}"
    );
    let png = std::fs::read(&png_path).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    // IHDR: the PNG is as wide and tall as the SVG says.
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (w, h) = (be(&png[16..20]), be(&png[20..24]));
    assert!(
        svg.contains(&format!("width=\"{w}\" height=\"{h}\"")),
        "{w}x{h}"
    );
    Some(png)
}

#[test]
fn the_samples_render_to_png() {
    let svg = render(&sample());
    assert!(svg.contains("⋮ 255 more segments (369 KB) and 128 ACKs in 12.7 ms ⋮"));
    assert!(svg.contains(">… 4.2 s idle …</text>"));
    assert_eq!(arrows(&svg), 22);
    if let Some(png) = to_png("ladder", &svg) {
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let (w, h) = (be(&png[16..20]), be(&png[20..24]));
        assert!((900..1400).contains(&w) && h > 1000, "{w}x{h}");
    }
    let svg = render(&two_streams());
    assert_eq!(svg.matches("class=\"seg rst\"").count(), 1);
    assert!(
        svg.contains("⋮ #0 4 more segments (5.8 KB) in 300 µs ⋮"),
        "{svg}"
    );
    to_png("ladder-streams", &svg);
}

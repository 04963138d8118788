//! The page scanner: which resources a browser fetches for an HTML page.
//!
//! HTML text enters [`resources`]; what leaves is each resource's request path with what
//! it is for ([`Kind`]: the Accept header and Range the request gets), in document order
//! and without duplicates. Like a browser's preload scanner it looks only at tags and
//! attributes, outside comments: `<img src>`, `<audio src>`, `<video src>`,
//! `<source src>`, `<link href>` and `<script src>`. Only URLs on this server are kept
//! (relative paths, absolute paths, or `http://` to the server's address); other hosts,
//! other schemes and `data:` are not fetched. It never fails: what it cannot read, it
//! skips.

use super::fetch::Kind;
use crate::network::{SERVER_V4, SERVER_V6};

/// The resources a browser would fetch for `html` (see the module doc).
pub fn resources(html: &str) -> Vec<(String, Kind)> {
    let mut out: Vec<(String, Kind)> = Vec::new();
    let bytes = html.as_bytes();
    let find = |from: usize, what: &[u8]| {
        bytes[from..]
            .windows(what.len())
            .position(|w| w == what)
            .map(|p| from + p)
    };
    let mut i = 0;
    while i < bytes.len() {
        // Byte offsets: '<', '>' and "-->" are ASCII, so every slice below starts and
        // ends on a character boundary.
        if bytes[i..].starts_with(b"<!--") {
            i = find(i, b"-->").map_or(bytes.len(), |e| e + 3);
            continue;
        }
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let end = find(i, b">").unwrap_or(bytes.len());
        let tag = &html[i + 1..end];
        i = end + 1;
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let (attr, kind) = match name.as_str() {
            "img" => ("src", Kind::Image),
            "audio" | "video" | "source" => ("src", Kind::Media),
            "link" => ("href", Kind::Stylesheet),
            "script" => ("src", Kind::Script),
            _ => continue,
        };
        let Some(value) = attribute(&tag[name.len()..], attr) else {
            continue;
        };
        let Some(path) = local_path(&value) else {
            continue;
        };
        if !out.iter().any(|(p, _)| *p == path) {
            out.push((path, kind));
        }
    }
    out
}

/// The value of attribute `name` in a tag's attribute text.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let b = attrs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let key = attrs[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = None;
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                let ve = b[vs..]
                    .iter()
                    .position(|&c| c == q)
                    .map_or(b.len(), |p| vs + p);
                value = Some(attrs[vs..ve].to_string());
                i = (ve + 1).min(b.len());
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = Some(attrs[vs..i].to_string());
            }
        }
        if key == name {
            return value;
        }
        if start == i {
            i += 1;
        }
    }
    None
}

/// A request path for a URL found in the page (whose own path is `/`).
fn local_path(url: &str) -> Option<String> {
    let url = url.trim();
    let url = url.split('#').next()?;
    if url.is_empty() || url.starts_with("data:") || url.starts_with("//") {
        return None;
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let slash = rest.find('/').unwrap_or(rest.len());
        let host = &rest[..slash];
        if host != SERVER_V4.to_string() && host != format!("[{SERVER_V6}]") {
            return None;
        }
        let p = &rest[slash..];
        return Some(if p.is_empty() {
            "/".into()
        } else {
            p.to_string()
        });
    }
    if url.contains(':') && !url.starts_with('/') {
        return None; // another scheme
    }
    if url.starts_with('/') {
        Some(url.to_string())
    } else {
        Some(format!("/{url}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_a_browser_fetches() {
        let html = r#"<html><head><link rel="stylesheet" href="style.css">
            <!-- <img src="hidden.png"> --></head><body>
            <IMG SRC='logo.svg' alt=x><audio controls src=intro.wav></audio>
            <a href="intro.wav">x</a><script src="/tcpinfo.js" defer></script>
            <img src="logo.svg"><img src="http://example.com/x.png"><img src="data:,x">
            <video><source src="http://192.168.69.1/clip.ogg"></video></body></html>"#;
        let paths =
            |html: &str| -> Vec<String> { resources(html).into_iter().map(|(p, _)| p).collect() };
        assert_eq!(
            paths(html),
            vec![
                "/style.css",
                "/logo.svg",
                "/intro.wav",
                "/tcpinfo.js",
                "/clip.ogg"
            ]
        );
        let www = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/site/index.html"),
        )
        .unwrap();
        assert_eq!(
            resources(&www),
            [
                ("/style.css", Kind::Stylesheet),
                ("/logo.svg", Kind::Image),
                ("/intro.wav", Kind::Media),
                ("/tcpinfo.js", Kind::Script)
            ]
            .map(|(p, k)| (p.to_string(), k))
        );
    }
}

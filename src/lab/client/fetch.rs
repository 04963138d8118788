//! One request of the page load: what it is for, and the bytes the client sends for it.
//!
//! A [`Fetch`] enters the client's queue from the plan (the page, `--get` paths), from
//! the page scanner (its resources) or from a retry; when a connection takes it,
//! [`request`] writes the request as a browser would: the Accept header of its [`Kind`],
//! `Range: bytes=0-` for media, and on the second load (`--reload`) the validators the
//! first load's answer carried ([`Validators`]). [`asked`] says in a few words which of
//! those extra headers went out, for the client's report.

/// What one request is for: its Accept header, and for media a Range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Document,
    Stylesheet,
    Image,
    Media,
    Script,
    Favicon,
    /// A path asked for by name (`--get`), not found in a page.
    Plain,
}

impl Kind {
    /// The kind of a path asked for by name: media by its extension, else plain.
    pub fn of_path(p: &str) -> Kind {
        let lower = p.to_ascii_lowercase();
        if lower.ends_with(".wav") || lower.ends_with(".mp3") || lower.ends_with(".ogg") {
            Kind::Media
        } else {
            Kind::Plain
        }
    }

    /// The Accept header a browser sends for it.
    fn accept(self) -> &'static str {
        match self {
            Kind::Document => "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            Kind::Stylesheet => "text/css,*/*;q=0.1",
            Kind::Image | Kind::Favicon => {
                "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
            }
            Kind::Media | Kind::Script | Kind::Plain => "*/*",
        }
    }
}

/// A request waiting for, or travelling on, a connection.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub path: String,
    pub kind: Kind,
    /// Which load (1, or 2 with `--reload`).
    pub load: u8,
    /// Times it was sent on a connection that then closed without answering.
    pub retries: u8,
}

impl Fetch {
    pub fn new(path: impl Into<String>, kind: Kind, load: u8) -> Fetch {
        Fetch {
            path: path.into(),
            kind,
            load,
            retries: 0,
        }
    }
}

/// The validators of the first load's answers (ETag, Last-Modified), by path: what a
/// browser's cache keeps to revalidate on reload.
#[derive(Debug, Clone, Default)]
pub struct Validators(Vec<Validator>);

#[derive(Debug, Clone)]
struct Validator {
    path: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

impl Validators {
    /// Keeps what an answer for `path` carried (the first answer for a path counts).
    pub fn remember(&mut self, path: &str, etag: Option<&str>, last_modified: Option<&str>) {
        self.0.push(Validator {
            path: path.to_string(),
            etag: etag.map(str::to_string),
            last_modified: last_modified.map(str::to_string),
        });
    }

    fn of(&self, path: &str) -> Option<&Validator> {
        self.0.iter().find(|v| v.path == path)
    }
}

/// The request's bytes. `host` is the Host header's value.
pub fn request(f: &Fetch, host: &str, validators: &Validators) -> Vec<u8> {
    let mut r = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: taplab-lab/{} (browser-like)\r\nAccept: {}\r\n",
        f.path,
        env!("CARGO_PKG_VERSION"),
        f.kind.accept()
    );
    if f.kind == Kind::Media {
        r.push_str("Range: bytes=0-\r\n");
    }
    if f.load == 2 {
        r.push_str("Cache-Control: max-age=0\r\n");
        if let Some(v) = validators.of(&f.path) {
            if let Some(e) = &v.etag {
                r.push_str(&format!("If-None-Match: {e}\r\n"));
            }
            if let Some(m) = &v.last_modified {
                r.push_str(&format!("If-Modified-Since: {m}\r\n"));
            }
        }
    }
    r.push_str("Connection: keep-alive\r\n\r\n");
    r.into_bytes()
}

/// The extra headers that matter to a reader of the report, as [`request`] sent them:
/// `Range: bytes=0-`, `If-None-Match, If-Modified-Since`, or nothing.
pub fn asked(f: &Fetch, validators: &Validators) -> String {
    let mut a = Vec::new();
    if f.kind == Kind::Media {
        a.push("Range: bytes=0-".to_string());
    }
    if f.load == 2 && validators.of(&f.path).is_some() {
        a.push("If-None-Match".into());
        a.push("If-Modified-Since".into());
    }
    a.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_as_a_browser_writes_them() {
        let mut v = Validators::default();
        let audio = Fetch::new("/intro.wav", Kind::Media, 1);
        let text = String::from_utf8(request(&audio, "192.168.69.1", &v)).unwrap();
        assert!(text.starts_with("GET /intro.wav HTTP/1.1\r\nHost: 192.168.69.1\r\n"));
        assert!(text.contains("\r\nAccept: */*\r\nRange: bytes=0-\r\n"));
        assert!(text.ends_with("Connection: keep-alive\r\n\r\n"));
        assert_eq!(asked(&audio, &v), "Range: bytes=0-");

        v.remember("/", Some("\"e1\""), None);
        let reload = Fetch::new("/", Kind::Document, 2);
        let text = String::from_utf8(request(&reload, "[fdaa::1]:8080", &v)).unwrap();
        assert!(text.contains("Host: [fdaa::1]:8080\r\n"));
        assert!(text.contains("Cache-Control: max-age=0\r\nIf-None-Match: \"e1\"\r\n"));
        assert!(
            !text.contains("If-Modified-Since"),
            "only what load 1 carried"
        );
        assert_eq!(asked(&reload, &v), "If-None-Match, If-Modified-Since");
        assert_eq!(asked(&Fetch::new("/", Kind::Document, 1), &v), "");

        assert_eq!(Kind::of_path("/a/B.WAV"), Kind::Media);
        assert_eq!(Kind::of_path("/index.html"), Kind::Plain);
    }
}

//! Request targets: from the text a client sent to the clean path the site
//! looks up.
//!
//! Data in: a request target exactly as sent (origin-form `/a/b?q` or
//! absolute-form `http://host/a/b?q`).
//! Data out: [`Target::Path`] with the clean path and the query as sent,
//! [`Target::Climbs`] when dot segments climb above the root, or
//! [`Target::Bad`] when the target is not a path or escapes wrongly.
//!
//! Steps, in order:
//!
//! 1. split off the query and fragment (and the scheme and authority of an
//!    absolute-form target);
//! 2. percent-decode, refusing `%2F`, any backslash and NUL, which would change
//!    how the path splits (so decoding first cannot create separators; `%2E`
//!    does become `.`, as RFC 3986 §6.2.2.2 normalises it);
//! 3. remove dot segments as RFC 3986 §5.2.4 does: `/./index.html` and
//!    `/x/../index.html` are `/index.html`;
//! 4. merge empty segments: `//index.html` is `/index.html`.
//!
//! Two decisions where the RFC leaves room:
//!
//! * A `..` that would climb above the root (`/../x`, `/a/../../x`) is a bad
//!   request (400), not clamped to the root as §5.2.4 would do for a relative
//!   reference. No browser or HTTP library sends such a path (they remove dot
//!   segments before sending), so one that arrives was typed or crafted to get
//!   out of the site, and the honest answer is that it is wrong; nginx and
//!   Apache answer 400 too.
//! * Empty segments are merged (as nginx does by default) rather than kept:
//!   a file system path has no empty segments, `//index.html` has always
//!   served the index here, and a redirect built from the merged path can
//!   never become a protocol-relative `//host` URL. Step 3 runs first, on the
//!   path as sent, so `/a//../b` is `/a/b` exactly as RFC 3986 says.

/// What a request target reduces to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target<'a> {
    /// The clean path: starts with `/`, no empty, `.` or `..` segments, a
    /// trailing `/` when the target named a directory; and the query as sent.
    Path {
        path: String,
        query: Option<&'a str>,
    },
    /// Dot segments climb above the root.
    Climbs,
    /// Not a path, a malformed escape, a forbidden byte, or not UTF-8.
    Bad,
}

/// Reduces a request target to the clean path (see the module documentation).
pub(super) fn clean_target(target: &str) -> Target<'_> {
    let Some((raw_path, query)) = split_target(target) else {
        return Target::Bad;
    };
    let Some(decoded) = percent_decode(raw_path) else {
        return Target::Bad;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return Target::Bad;
    };
    match remove_dot_segments(&decoded) {
        Some(path) => Target::Path { path, query },
        None => Target::Climbs,
    }
}

/// RFC 3986 §5.2.4 on an absolute path, then empty segments merged. `None`
/// when a `..` finds nothing left to remove (it would climb above the root).
fn remove_dot_segments(path: &str) -> Option<String> {
    // Segments after the leading "/"; empty ones are kept until the end, so
    // that a ".." removes an empty segment exactly as the RFC's buffer does.
    let mut kept: Vec<&str> = Vec::new();
    let mut segments = path.split('/').skip(1).peekable();
    let mut trailing_slash = false;
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            "." => trailing_slash = last,
            ".." => {
                kept.pop()?;
                trailing_slash = last;
            }
            s => {
                kept.push(s);
                trailing_slash = last && s.is_empty();
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in kept.iter().filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    Some(out)
}

/// Splits a target into its path and query, dropping any fragment and the
/// scheme and authority of an absolute-form target. `None` unless the path
/// starts with `/`.
fn split_target(target: &str) -> Option<(&str, Option<&str>)> {
    let mut t = target.split('#').next().unwrap_or_default();
    let scheme_end = t.find("://");
    if let Some(i) = scheme_end
        && (t[..i].eq_ignore_ascii_case("http") || t[..i].eq_ignore_ascii_case("https"))
    {
        let rest = &t[i + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        t = &rest[authority_end..];
        if !t.starts_with('/') {
            // "http://host" or "http://host?q": the path is "/".
            return Some(("/", t.strip_prefix('?')));
        }
    }
    let (path, query) = match t.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (t, None),
    };
    path.starts_with('/').then_some((path, query))
}

/// Decodes `%XX` escapes. `None` for a malformed escape, and for bytes that
/// would change how the path splits or ends: `/` written as `%2F`, `\` in
/// any form, and NUL.
fn percent_decode(path: &str) -> Option<Vec<u8>> {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = hex_value(*b.get(i + 1)?)?;
                let lo = hex_value(*b.get(i + 2)?)?;
                let c = hi << 4 | lo;
                if matches!(c, b'/' | b'\\' | 0) {
                    return None;
                }
                out.push(c);
                i += 3;
            }
            b'\\' | 0 => return None,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(target: &str) -> Target<'_> {
        clean_target(target)
    }

    fn ok(p: &str, q: Option<&'static str>) -> Target<'static> {
        Target::Path {
            path: p.to_owned(),
            query: q,
        }
    }

    #[test]
    fn removes_dot_segments() {
        let cases = [
            ("/", "/"),
            ("/index.html", "/index.html"),
            ("/./index.html", "/index.html"),
            ("/x/../index.html", "/index.html"),
            ("/a/b/../../index.html", "/index.html"),
            ("/sub/.", "/sub/"),
            ("/sub/./", "/sub/"),
            ("/sub/..", "/"),
            ("/sub/../", "/"),
            ("/.", "/"),
            ("/sub/x/..", "/sub/"),
            ("/a/./b/./c", "/a/b/c"),
            // Dot segments only when the whole segment is dots.
            ("/..a/b..", "/..a/b.."),
            ("/.secret", "/.secret"),
            ("/...", "/..."),
            // Encoded dots are dots.
            ("/x/%2e%2E/index.html", "/index.html"),
            ("/%2e/index.html", "/index.html"),
            // Empty segments: ".." removes one as RFC 3986 does, then merged.
            ("//index.html", "/index.html"),
            ("/a//../b", "/a/b"),
            ("/a//b//", "/a/b/"),
            ("//", "/"),
            ("//..", "/"),
        ];
        for (target, want) in cases {
            assert_eq!(path(target), ok(want, None), "{target}");
        }
        assert_eq!(path("/x/../sub?a=1#f"), ok("/sub", Some("a=1")));
        assert_eq!(path("http://h/a/../b?q"), ok("/b", Some("q")));
    }

    #[test]
    fn refuses_climbing_above_the_root() {
        for target in [
            "/..",
            "/../",
            "/../x",
            "/a/../../x",
            "/%2e%2e/",
            "/.%2e/x",
            "/./../x",
            "http://h/../x",
        ] {
            assert_eq!(path(target), Target::Climbs, "{target}");
        }
    }

    #[test]
    fn refuses_bad_targets() {
        for target in ["*", "a/b", "?x", "/%zz", "/%2F", "/a%5cb", "/%00", "/%ff"] {
            assert_eq!(path(target), Target::Bad, "{target}");
        }
    }

    #[test]
    fn splits_targets() {
        assert_eq!(split_target("/a/b?x=1#f"), Some(("/a/b", Some("x=1"))));
        assert_eq!(split_target("/a#f?x"), Some(("/a", None)));
        assert_eq!(split_target("http://h:80/a?q"), Some(("/a", Some("q"))));
        assert_eq!(split_target("HTTPS://h"), Some(("/", None)));
        assert_eq!(split_target("http://h?q"), Some(("/", Some("q"))));
        assert_eq!(split_target("*"), None);
        assert_eq!(split_target("a/b"), None);
        assert_eq!(split_target("ftp://h/a"), None);
        assert_eq!(split_target("?x"), None);
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("/a%20b%41").as_deref(), Some(&b"/a bA"[..]));
        assert_eq!(
            percent_decode("/%e2%82%ac").as_deref(),
            Some("/€".as_bytes())
        );
        for bad in [
            "/%", "/%4", "/%zz", "/%2f", "/%2F", "/%5c", "/%5C", "/%00", "/a\\b",
        ] {
            assert_eq!(percent_decode(bad), None, "{bad}");
        }
    }
}

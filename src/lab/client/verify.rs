//! The verifier: does an answer hold what the site's file holds?
//!
//! [`SiteFiles`] reads the files of the site the server serves (`--www`), once per path,
//! and [`SiteFiles::verify`] compares a response (status, Content-Range, body) with the
//! file its request path names: a 200 must carry the file byte for byte, a 206 exactly the
//! bytes its Content-Range names, a 304 is right only on the reload, and a path with no
//! file must get 404. What leaves is a verdict and one line saying what was found, for
//! the fetch's report.
//!
//! Files are kept as `Rc<[u8]>`: the audio is compared on every load without a copy.

use super::fetch::Fetch;
use super::response::Head;
use std::path::PathBuf;
use std::rc::Rc;

/// The site's files, read as they are asked for.
#[derive(Debug)]
pub struct SiteFiles {
    root: PathBuf,
    /// By request path; None: no such file (few and small but for the audio).
    files: Vec<(String, Option<Rc<[u8]>>)>,
}

impl SiteFiles {
    pub fn new(root: PathBuf) -> SiteFiles {
        SiteFiles {
            root,
            files: Vec::new(),
        }
    }

    /// The file for a request path (None if there is none). Only plain relative names are
    /// looked up; anything odd counts as missing.
    fn file(&mut self, path: &str) -> Option<Rc<[u8]>> {
        if let Some((_, f)) = self.files.iter().find(|(p, _)| p == path) {
            return f.clone();
        }
        let clean = path.split(['?', '#']).next().unwrap_or("");
        let rel = clean.trim_start_matches('/');
        let rel = if rel.is_empty() || rel.ends_with('/') {
            format!("{rel}index.html")
        } else {
            rel.to_string()
        };
        let safe = !rel.split('/').any(|s| s.is_empty() || s.starts_with('.'))
            && !rel.contains(['\\', '%', '\0']);
        let data = if safe {
            std::fs::read(self.root.join(&rel)).ok().map(Rc::from)
        } else {
            None
        };
        self.files.push((path.to_string(), data.clone()));
        data
    }

    /// Compares a response with the site's file: (ok, what was found).
    pub fn verify(&mut self, fetch: &Fetch, head: &Head, body: &[u8]) -> (bool, String) {
        let file = self.file(&fetch.path);
        match (head.status, file) {
            (200, Some(f)) if body == &f[..] => (true, "body equals the file".into()),
            (200, Some(f)) => (
                false,
                format!(
                    "body differs from the file ({} bytes, file {})",
                    body.len(),
                    f.len()
                ),
            ),
            (206, Some(f)) => {
                let range = head.get("content-range").and_then(parse_content_range);
                match range {
                    Some((a, b, total))
                        if total == f.len() && b < f.len() && a <= b && body == &f[a..=b] =>
                    {
                        (true, format!("bytes {a}-{b} equal the file's"))
                    }
                    _ => (
                        false,
                        format!(
                            "partial body does not match the file (Content-Range {:?})",
                            head.get("content-range")
                        ),
                    ),
                }
            }
            (304, Some(_)) if fetch.load == 2 && body.is_empty() => {
                (true, "not modified: the cached copy stands".into())
            }
            (404, None) => (true, "no such file in the site, as expected".into()),
            (status, file) => (
                false,
                format!(
                    "unexpected status {status} ({})",
                    if file.is_some() {
                        "the file exists"
                    } else {
                        "no such file"
                    }
                ),
            ),
        }
    }
}

/// "bytes a-b/total" → (a, b, total).
fn parse_content_range(v: &str) -> Option<(usize, usize, usize)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?, total.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::super::fetch::Kind;
    use super::*;

    fn head(status: u16, headers: &[(&str, &str)]) -> Head {
        Head {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn compares_answers_with_the_site() {
        let site = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/site");
        let css = std::fs::read(site.join("style.css")).unwrap();
        let mut files = SiteFiles::new(site);
        let get = |path: &str, load| Fetch::new(path, Kind::Plain, load);

        assert_eq!(
            files.verify(&get("/style.css", 1), &head(200, &[]), &css),
            (true, "body equals the file".into())
        );
        let (ok, why) = files.verify(&get("/style.css", 1), &head(200, &[]), &css[1..]);
        assert!(!ok && why.starts_with("body differs"), "{why}");

        let range = format!("bytes 2-5/{}", css.len());
        let partial = head(206, &[("Content-Range", &range)]);
        assert!(files.verify(&get("/style.css", 1), &partial, &css[2..=5]).0);
        assert!(!files.verify(&get("/style.css", 1), &partial, &css[3..=6]).0);
        let beyond = head(206, &[("Content-Range", "bytes 0-9/99999999")]);
        assert!(!files.verify(&get("/style.css", 1), &beyond, &css[..10]).0);

        assert!(
            files.verify(&get("/", 2), &head(304, &[]), b"").0,
            "index.html"
        );
        assert!(
            !files.verify(&get("/", 1), &head(304, &[]), b"").0,
            "not on load 1"
        );
        assert!(
            files
                .verify(&get("/nothing.png", 1), &head(404, &[]), b"")
                .0
        );
        let (ok, why) = files.verify(&get("/style.css", 1), &head(404, &[]), b"");
        assert_eq!(
            (ok, why.as_str()),
            (false, "unexpected status 404 (the file exists)")
        );
        // Odd names are never looked up, whatever lies there.
        for odd in [
            "/../Cargo.toml",
            "/.hidden",
            "/a/./b",
            "/a%2Fb",
            "/style.css/",
        ] {
            assert!(files.verify(&get(odd, 1), &head(404, &[]), b"").0, "{odd}");
        }

        assert_eq!(parse_content_range("bytes 0-9/10"), Some((0, 9, 10)));
        assert_eq!(parse_content_range("bytes */10"), None);
    }
}

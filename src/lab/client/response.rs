//! Reading one HTTP/1.1 response off a connection, in whatever pieces the socket gives.
//!
//! Bytes enter through [`Reader::feed`], which says how many it used: a response ends
//! where its body does, and what follows belongs to the next response (or is dropped by
//! the caller). The head is parsed with `httparse`; the body is framed by Content-Length,
//! has none for 1xx, 204 and 304, and without a length runs until the server's FIN (the
//! caller then sets [`Reader::remaining`] to `Some(0)`). What leaves is the parsed
//! [`Head`] and the body, or [`Reader::failed`] with the reason. Head and body are
//! bounded ([`MAX_HEAD`], [`MAX_BODY`]), so a hostile server cannot make the client grow
//! without end.

/// Largest response head and body kept (the site's files are far smaller).
pub const MAX_HEAD: usize = 64 * 1024;
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// A response head, parsed.
#[derive(Debug, Clone, Default)]
pub struct Head {
    pub status: u16,
    /// Name and value of each header, in the order received.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The value of the first header called `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response: the head, then a body framed by Content-Length (or, without it,
/// by the server's FIN).
#[derive(Debug, Default)]
pub struct Reader {
    /// The head's bytes until it is complete (and no more than [`MAX_HEAD`]).
    pub head_bytes: Vec<u8>,
    pub head: Option<Head>,
    /// Body bytes still expected; None: until the connection closes.
    pub remaining: Option<usize>,
    pub body: Vec<u8>,
    /// Why the response cannot be read on (malformed head, bad Content-Length…).
    pub failed: Option<String>,
}

impl Reader {
    /// Takes bytes; returns how many it used (a response ends where its body does).
    pub fn feed(&mut self, data: &[u8]) -> usize {
        if self.head.is_none() {
            let start = self.head_bytes.len();
            let room = MAX_HEAD.saturating_sub(start);
            let take = data.len().min(room);
            self.head_bytes.extend_from_slice(&data[..take]);
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&self.head_bytes) {
                Ok(httparse::Status::Complete(n)) => {
                    let head = Head {
                        status: resp.code.unwrap_or(0),
                        headers: resp
                            .headers
                            .iter()
                            .map(|h| {
                                (
                                    h.name.to_string(),
                                    String::from_utf8_lossy(h.value).into_owned(),
                                )
                            })
                            .collect(),
                    };
                    // Whatever followed the head in this piece is body.
                    let body_part = self.head_bytes.split_off(n);
                    self.remaining = match head.status {
                        100..=199 | 204 | 304 => Some(0),
                        _ => match head.get("content-length").map(|v| v.trim().parse()) {
                            Some(Ok(n)) => Some(n),
                            Some(Err(_)) => {
                                self.failed = Some("bad Content-Length".into());
                                Some(0)
                            }
                            None => None,
                        },
                    };
                    self.head = Some(head);
                    // Room for the whole body at once, not grown (and copied) piecewise.
                    if let Some(n) = self.remaining {
                        self.body.reserve(n.min(MAX_BODY));
                    }
                    let consumed = self.feed_body(&body_part);
                    return take - body_part.len() + consumed;
                }
                Ok(httparse::Status::Partial) => {
                    if self.head_bytes.len() >= MAX_HEAD {
                        self.failed = Some("response head too large".into());
                    }
                    return take;
                }
                Err(e) => {
                    self.failed = Some(format!("malformed response head: {e}"));
                    return data.len();
                }
            }
        }
        self.feed_body(data)
    }

    fn feed_body(&mut self, data: &[u8]) -> usize {
        let n = match self.remaining {
            Some(r) => data.len().min(r),
            None => data.len(),
        };
        let room = MAX_BODY.saturating_sub(self.body.len());
        self.body.extend_from_slice(&data[..n.min(room)]);
        if let Some(r) = self.remaining.as_mut() {
            *r -= n;
        }
        n
    }

    /// The response is over: read whole, or failed.
    pub fn complete(&self) -> bool {
        self.failed.is_some() || (self.head.is_some() && self.remaining == Some(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_responses_in_pieces() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\nhelloEXTRA";
        for split in 1..resp.len() {
            let mut r = Reader::default();
            let mut used = r.feed(&resp[..split]);
            if !r.complete() {
                used += r.feed(&resp[split..]);
            }
            assert!(r.complete(), "split {split}");
            assert_eq!(r.body, b"hello");
            assert_eq!(used, resp.len() - 5, "split {split}");
            assert_eq!(r.head.as_ref().unwrap().get("etag"), Some("\"x\""));
        }
        let mut r = Reader::default();
        r.feed(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n");
        assert!(r.complete() && r.body.is_empty());
        let mut r = Reader::default();
        r.feed(b"garbage\r\n\r\n");
        assert!(r.complete() && r.failed.is_some());
    }
}

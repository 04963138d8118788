//! Requests per second through one [`HttpConnection`], in process: no TCP, no tap.
//!
//! Each round feeds one keep-alive `GET` for a small file of the repository's site
//! (`www/`), polls, drains the response into a 64 KiB buffer (as the server does into a
//! socket's send buffer) and takes the access record. That is the whole per-request work
//! of the HTTP layer, so the figure compares versions of that layer, not machines.
//!
//! Run: `cargo bench --bench http` (add a path, e.g. `-- /logo.svg`, to fetch another
//! file). It prints requests/s for each of three 2-second runs and their median; the
//! machine is shared and noisy, so nothing here is asserted.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use taplab::http::{HttpConfig, HttpConnection, Site, Verdict};

/// The HTTP layer's time: the wall clock, as the server's clock gives it.
fn now() -> taplab::http::Instant {
    taplab::http::Instant::from(SystemTime::now())
}

/// How long each measured run lasts.
const RUN: Duration = Duration::from_secs(2);
const RUNS: usize = 3;

fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|a| a.starts_with('/'))
        .unwrap_or_else(|| "/style.css".to_owned());
    let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("www");
    let site = Site::open(&www).expect("the repository's www/ directory");
    let config = HttpConfig::default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 192.168.69.1\r\n\r\n");
    let mut out = vec![0u8; 64 * 1024];

    // Check once that the request is answered with a 200 and a body.
    let mut conn = HttpConnection::new(now());
    let (bytes, status) = one_request(&mut conn, &site, &config, &request, &mut out);
    assert_eq!(
        status, 200,
        "GET {path} must be served (run from the repository)"
    );

    let mut rates = Vec::with_capacity(RUNS);
    for run in 1..=RUNS {
        let mut conn = HttpConnection::new(now());
        let start = Instant::now();
        let mut n: u64 = 0;
        // The clock is read every 256 requests only, so reading it costs nothing.
        while !n.is_multiple_of(256) || start.elapsed() < RUN {
            one_request(&mut conn, &site, &config, &request, &mut out);
            n += 1;
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        println!("run {run}: GET {path} ({bytes} bytes/response): {rate:.0} requests/s");
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!("median: {:.0} requests/s", rates[RUNS / 2]);
}

/// One request through `conn`: returns the response's size and status.
fn one_request(
    conn: &mut HttpConnection,
    site: &Site,
    config: &HttpConfig,
    request: &str,
    out: &mut [u8],
) -> (usize, u16) {
    let now = now();
    conn.receive(request.as_bytes(), now);
    let verdict = conn.poll(site, config, now);
    assert_eq!(verdict, Verdict::Continue);
    let mut total = 0;
    while conn.has_output() {
        total += conn.write_output(out, now);
    }
    let status = conn.take_log().first().map_or(0, |r| r.status);
    (total, status)
}

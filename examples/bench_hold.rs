//! Benchmark client: holds N idle keep-alive connections open, so that `scripts/bench.sh`
//! can read a server's memory and time a fresh GET meanwhile.
//!
//! Threads open the connections, each a share of them one after another: connect, one
//! `GET PATH` with keep-alive, read the whole response (its Content-Length), keep the
//! socket. Then it prints one line, `held N connections in S s`, and sleeps until
//! `--hold` seconds have passed since it started (the script stops it sooner, by PID).
//! Any connection that fails ends the run with `bench_hold: error: …` and exit code 1.
//! Every step has a time limit.
//!
//! usage: bench_hold --connect 192.168.69.1:80 --path /f200.html --conns 1000 --hold 120

use clap::Parser;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Per connect and per read.
const STEP_LIMIT: Duration = Duration::from_secs(10);

#[derive(Parser)]
struct Args {
    /// The server's address and port
    #[arg(long)]
    connect: SocketAddr,
    /// What each connection GETs once
    #[arg(long, default_value = "/")]
    path: String,
    /// How many connections to hold
    #[arg(long)]
    conns: usize,
    /// Give up and exit after this many seconds in all
    #[arg(long, default_value_t = 120)]
    hold: u64,
    /// Connections are opened by this many threads at once
    #[arg(long, default_value_t = 16)]
    threads: usize,
}

fn main() {
    let args = Args::parse();
    let start = Instant::now();
    match open_all(&args) {
        Ok(held) => {
            println!(
                "held {} connections in {:.1} s",
                held.len(),
                start.elapsed().as_secs_f64()
            );
            let deadline = start + Duration::from_secs(args.hold);
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        }
        Err(e) => {
            println!("bench_hold: error: {e}");
            std::process::exit(1);
        }
    }
}

fn open_all(args: &Args) -> Result<Vec<TcpStream>, String> {
    let threads = args.threads.clamp(1, args.conns.max(1));
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
        args.path,
        args.connect.ip()
    );
    let results: Vec<Result<Vec<TcpStream>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let share = args.conns / threads + usize::from(t < args.conns % threads);
                let request = request.as_bytes();
                s.spawn(move || -> Result<Vec<TcpStream>, String> {
                    let mut mine = Vec::with_capacity(share);
                    for _ in 0..share {
                        mine.push(open_one(args.connect, request).map_err(|e| {
                            format!("connection {} of {}: {e}", mine.len() + 1, share)
                        })?);
                    }
                    Ok(mine)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a thread panicked".into())))
            .collect()
    });
    let mut all = Vec::with_capacity(args.conns);
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

/// Connects, sends `request`, reads one whole response, returns the open socket.
fn open_one(to: SocketAddr, request: &[u8]) -> Result<TcpStream, String> {
    let mut s = TcpStream::connect_timeout(&to, STEP_LIMIT).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(STEP_LIMIT))
        .map_err(|e| e.to_string())?;
    s.write_all(request).map_err(|e| format!("send: {e}"))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection before its response ended".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let head = match resp.parse(&buf) {
            Ok(httparse::Status::Complete(h)) => h,
            Ok(httparse::Status::Partial) => continue,
            Err(e) => return Err(format!("bad response: {e}")),
        };
        if resp.code != Some(200) {
            return Err(format!("status {:?}, not 200", resp.code));
        }
        let len = resp
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| {
                std::str::from_utf8(h.value)
                    .ok()?
                    .trim()
                    .parse::<usize>()
                    .ok()
            })
            .ok_or("response without Content-Length")?;
        if buf.len() >= head + len {
            return Ok(s);
        }
    }
}

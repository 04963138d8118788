//! Shared harness for the tap tests: a network namespace per test, taplab running in it
//! on a real tap, and the kernel's tools (curl, ping, tcpdump, python3, chromium) as the
//! peer, run inside the same namespace. Everything a test starts is stopped by PID and the
//! namespace deleted when the guard drops, also when the test fails.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_taplab");
pub const SERVER: &str = "192.168.69.1";
pub const URL: &str = "http://192.168.69.1";
/// The log level the tests run taplab with unless they ask for another.
const DEBUG_LOG: &str = "taplab=debug";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The site the tests serve: the fixture copy of www/ (tests/site/README.md says why), so
/// that a student's own page never changes what the tests expect.
pub fn www() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/site")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "taplab-test-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            tag
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A network namespace of the test's own, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Netns {
        let name = format!(
            "taplab-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip netns add (is iproute2 installed, are we root?)");
        assert!(ok.success(), "ip netns add {name} failed (root needed)");
        let ns = Netns { name };
        ns.run("ip", &["link", "set", "lo", "up"]);
        ns
    }

    /// A command that runs `prog` inside the namespace.
    pub fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, prog]);
        c
    }

    /// Runs `prog args` in the namespace (bounded by `timeout` from coreutils) and returns
    /// its output.
    pub fn output(&self, prog: &str, args: &[&str]) -> Output {
        let mut c = self.cmd("timeout");
        c.arg("60").arg(prog).args(args);
        c.output().unwrap_or_else(|e| panic!("running {prog}: {e}"))
    }

    pub fn run(&self, prog: &str, args: &[&str]) -> Output {
        let out = self.output(prog, args);
        assert!(
            out.status.success(),
            "{prog} {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Sends SIGTERM to `pid`, waits up to `grace` for the child to exit, then kills it.
pub fn stop_child(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// taplab serving in its own namespace. Fields drop in order: the process is stopped
/// (Drop below) before the namespace is deleted.
pub struct Taplab {
    pub child: Child,
    log: Arc<Mutex<String>>,
    /// taplab's standard input, when started with [`Taplab::start_with_stdin`].
    pub stdin: Option<std::process::ChildStdin>,
    pub ns: Netns,
}

impl Taplab {
    /// Starts `taplab serve ARGS` (site: the fixture copy of www/, tests/site, unless ARGS has --www) in a new
    /// namespace and waits for its ready line.
    pub fn start(args: &[&str]) -> Taplab {
        Self::start_in(Netns::new(), args, None)
    }

    /// Like [`Taplab::start`], with taplab's stdin a pipe the test writes to.
    pub fn start_with_stdin(args: &[&str]) -> Taplab {
        Self::start_opts(Netns::new(), args, None, true, DEBUG_LOG)
    }

    /// Like [`Taplab::start`], logging at `rust_log` (e.g. "info", what a user gets
    /// when RUST_LOG is not set) instead of debug.
    pub fn start_logging(args: &[&str], rust_log: &str) -> Taplab {
        Self::start_opts(Netns::new(), args, None, false, rust_log)
    }

    /// Like [`Taplab::start_with_stdin`], but taplab's stdin and stdout are a terminal (a
    /// pseudo-terminal from python3's pty module, which copies the test's pipe to it and
    /// the terminal's output back), as when a user types at it. Its exit status is
    /// taplab's.
    pub fn start_on_terminal(args: &[&str]) -> Taplab {
        const PTY: &str =
            "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))";
        Self::start_opts(
            Netns::new(),
            args,
            Some(&["python3", "-c", PTY]),
            true,
            DEBUG_LOG,
        )
    }

    /// Starts taplab in `ns`, optionally through a wrapper command (e.g. setpriv).
    pub fn start_in(ns: Netns, args: &[&str], wrapper: Option<&[&str]>) -> Taplab {
        Self::start_opts(ns, args, wrapper, false, DEBUG_LOG)
    }

    fn start_opts(
        ns: Netns,
        args: &[&str],
        wrapper: Option<&[&str]>,
        stdin: bool,
        rust_log: &str,
    ) -> Taplab {
        let mut c = match wrapper {
            Some(w) => {
                let mut c = ns.cmd(w[0]);
                c.args(&w[1..]).arg(BIN);
                c
            }
            None => ns.cmd(BIN),
        };
        c.arg("serve");
        if !args.contains(&"--www") {
            c.arg("--www").arg(www());
        }
        c.args(args)
            .env("RUST_LOG", rust_log)
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn taplab");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        for (stream, is_stdout) in [
            (Box::new(out) as Box<dyn Read + Send>, true),
            (Box::new(err), false),
        ] {
            let log = Arc::clone(&log);
            let ready = ready_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if is_stdout && line.contains("http://") {
                        let _ = ready.send(());
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let stdin = child.stdin.take();
        let mut t = Taplab {
            child,
            log,
            stdin,
            ns,
        };
        if ready_rx.recv_timeout(Duration::from_secs(15)).is_err() {
            let status = t.child.try_wait();
            panic!(
                "taplab did not print its ready line (status {status:?}); log:\n{}",
                t.log()
            );
        }
        t
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything taplab printed so far (stdout and stderr interleaved by line).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (up to `timeout`).
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// curl inside the namespace with the given arguments (-sS and a time limit added).
    pub fn curl(&self, args: &[&str]) -> Output {
        let mut a = vec!["-sS", "--max-time", "30"];
        a.extend_from_slice(args);
        self.ns.output("curl", &a)
    }

    /// The body of `GET path`, asserting success.
    pub fn get(&self, path: &str) -> Vec<u8> {
        let out = self.curl(&["--fail", &format!("{URL}{path}")]);
        assert!(
            out.status.success(),
            "GET {path}: {}\n{}\nlog:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        out.stdout
    }

    /// Peak resident set size of the taplab process, in KiB (VmHWM).
    pub fn peak_rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        s.lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    /// Stops taplab with SIGTERM and returns its exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        stop_child(&mut self.child, Duration::from_secs(5))
    }
}

impl Drop for Taplab {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            stop_child(&mut self.child, Duration::from_secs(3));
        }
    }
}

/// tcpdump writing a pcap of tap0 inside a namespace, stopped on drop or by `finish`.
pub struct Capture {
    child: Option<Child>,
    pub file: PathBuf,
    _dir: TempDir,
}

impl Capture {
    pub fn start(ns: &Netns) -> Capture {
        Self::start_on(ns, "tap0")
    }

    /// tcpdump on another interface of the namespace (e.g. `lo`).
    pub fn start_on(ns: &Netns, iface: &str) -> Capture {
        let dir = TempDir::new("pcap");
        let file = dir.path().join(format!("{iface}.pcap"));
        let mut child = ns
            .cmd("tcpdump")
            // --immediate-mode: otherwise libpcap hands packets over in blocks and an
            // interrupt loses the last, unfinished block.
            .args([
                "-i",
                iface,
                "-nn",
                "-U",
                "--immediate-mode",
                // A large kernel buffer, or tcpdump drops frames of a fast transfer.
                "-B",
                "65536",
                "-w",
            ])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tcpdump");
        // tcpdump says "listening on tap0" once the capture is open.
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let _ = err.read_line(&mut line);
        assert!(line.contains("listening"), "tcpdump: {line}");
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = err.read_to_string(&mut sink);
        });
        Capture {
            child: Some(child),
            file,
            _dir: dir,
        }
    }

    /// Stops tcpdump and returns `tcpdump -r FILE -nn -S` lines.
    pub fn finish(&mut self) -> Vec<String> {
        if let Some(mut c) = self.child.take() {
            // tcpdump may lag behind on a busy machine, and an interrupt loses what it
            // has not written yet: wait until the file has stopped growing (at most 5 s).
            let size = || std::fs::metadata(&self.file).map(|m| m.len()).unwrap_or(0);
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut last = size();
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let now = size();
                if now == last || Instant::now() > deadline {
                    break;
                }
                last = now;
            }
            let _ = Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
        let out = Command::new("tcpdump")
            .args(["-r"])
            .arg(&self.file)
            .args(["-nn", "-S", "-tt"])
            .output()
            .expect("tcpdump -r");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs a python3 client script inside the namespace (argv: SCRIPT ARGS...).
pub fn python(ns: &Netns, script: &str, args: &[&str]) -> Output {
    let mut a = vec!["-c", script];
    a.extend_from_slice(args);
    ns.output("python3", &a)
}

/// Splits raw HTTP responses read from a socket: (status line, headers lowercased, body).
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// One TCP segment as `tcpdump -nn -S -tt` prints it.
#[derive(Debug, Clone, Default)]
pub struct Seg {
    pub time: f64,
    pub from_server: bool,
    /// The client's port (identifies the connection).
    pub client_port: u16,
    pub flags: String,
    /// First sequence number (absent on tcpdump's pure ACK lines).
    pub seq: Option<u32>,
    pub ack: Option<u32>,
    pub win: u32,
    pub len: usize,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_ok: bool,
    pub sack_blocks: bool,
    pub timestamps: bool,
    pub line: String,
}

impl Seg {
    pub fn has(&self, flag: char) -> bool {
        self.flags.contains(flag)
    }
    pub fn is_syn(&self) -> bool {
        self.has('S')
    }
    /// The sequence number after this segment (seq + len, + 1 for SYN or FIN).
    pub fn end(&self) -> Option<u32> {
        let extra = (self.has('S') || self.has('F')) as u32;
        self.seq.map(|s| s.wrapping_add(self.len as u32 + extra))
    }
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let i = line.find(name)? + name.len();
    line[i..].split([',', ':', ' ']).next()
}

/// Parses TCP lines of `tcpdump -nn -S -tt` for connections to `server_port`.
pub fn parse_tcpdump(lines: &[String], server_port: u16) -> Vec<Seg> {
    let mut out = Vec::new();
    for l in lines {
        let Some(flags_at) = l.find("Flags [") else {
            continue;
        };
        let mut w = l.split_whitespace();
        let time: f64 = w.next().and_then(|t| t.parse().ok()).unwrap_or(0.0);
        let _proto = w.next();
        let src = w.next().unwrap_or("");
        let port_of = |a: &str| -> u16 {
            a.trim_end_matches(':')
                .rsplit('.')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0)
        };
        let dst = {
            let _ = w.next(); // ">"
            w.next().unwrap_or("")
        };
        let (sp, dp) = (port_of(src), port_of(dst));
        let from_server = sp == server_port;
        if !from_server && dp != server_port {
            continue;
        }
        let flags = l[flags_at + 7..]
            .split(']')
            .next()
            .unwrap_or("")
            .to_string();
        let seq = field(l, ", seq ").and_then(|s| s.parse().ok());
        let ack = field(l, ", ack ").and_then(|s| s.parse().ok());
        let win = field(l, ", win ").and_then(|s| s.parse().ok()).unwrap_or(0);
        let len = field(l, ", length ")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let opts = l
            .find("options [")
            .map(|i| l[i + 9..].split(']').next().unwrap_or(""))
            .unwrap_or("");
        let mut s = Seg {
            time,
            from_server,
            client_port: if from_server { dp } else { sp },
            flags,
            seq,
            ack,
            win,
            len,
            line: l.clone(),
            ..Default::default()
        };
        for o in opts.split(',') {
            let o = o.trim();
            if let Some(v) = o.strip_prefix("mss ") {
                s.mss = v.parse().ok();
            } else if let Some(v) = o.strip_prefix("wscale ") {
                s.wscale = v.parse().ok();
            } else if o == "sackOK" {
                s.sack_ok = true;
            } else if o.starts_with("sack ") {
                s.sack_blocks = true;
            } else if o.starts_with("TS val") {
                s.timestamps = true;
            }
        }
        out.push(s);
    }
    out
}

/// The segments of one connection, by the client's port.
pub fn connection(segs: &[Seg], client_port: u16) -> Vec<Seg> {
    segs.iter()
        .filter(|s| s.client_port == client_port)
        .cloned()
        .collect()
}

pub fn dump(segs: &[Seg]) -> String {
    segs.iter()
        .map(|s| s.line.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The frames of a classic pcap file (either byte order), with their timestamps in µs.
pub fn read_pcap(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(b.len() >= 24, "{} is not a pcap", path.display());
    let magic = u32::from_le_bytes(b[..4].try_into().unwrap());
    let le = matches!(magic, 0xa1b2c3d4 | 0xa1b23c4d);
    let nanos = matches!(magic, 0xa1b23c4d | 0x4d3cb2a1);
    let u32at = |o: usize| {
        let a: [u8; 4] = b[o..o + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= b.len() {
        let (s, frac, incl) = (
            u32at(off) as u64,
            u32at(off + 4) as u64,
            u32at(off + 8) as usize,
        );
        let us = s * 1_000_000 + if nanos { frac / 1000 } else { frac };
        out.push((us, b[off + 16..(off + 16 + incl).min(b.len())].to_vec()));
        off += 16 + incl;
    }
    out
}

/// tshark's complaints about a capture: malformed frames, bad checksums, expert errors.
pub fn tshark_complaints(path: &Path) -> String {
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(path)
        .args([
            "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
            "-Y", "_ws.malformed || _ws.expert.severity >= error || tcp.checksum.status == 2 || ip.checksum.status == 2",
        ])
        .output()
        .expect("tshark");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

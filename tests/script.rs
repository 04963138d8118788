//! `taplab lab --script`: every shipped example passes with the flags its first comment names,
//! gives the same report on every run, and holds for any ISN; wrong expectations fail
//! with the line, the actual segment and what differs. No tap, no root: the scripted
//! peer drives the server stack in memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/examples");

/// Runs `taplab lab --script ARGS` serving the fixture site (tests/site/README.md: the
/// examples count the bytes of its index.html); a `--www` in ARGS comes later and wins.
fn taplab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taplab"))
        .args(["lab", "--www", "tests/site", "--script"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .output()
        .expect("run taplab")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// The examples, sorted by name.
fn examples() -> Vec<PathBuf> {
    scripts_in(EXAMPLES)
}

/// The `.pkt` files of a directory, sorted by name.
fn scripts_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pkt"))
        .collect();
    v.sort();
    v
}

/// The flags a script's `// flags:` comment asks for.
fn flags_of(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let script =
        taplab::script::parse_script(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let flags = script
        .flags
        .unwrap_or_else(|| panic!("{} has no `// flags:` line", path.display()));
    flags.split_whitespace().map(str::to_string).collect()
}

fn events_in(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    taplab::script::parse_script(&text).unwrap().events.len()
}

fn run_example(path: &Path, extra: &[&str]) -> Output {
    let flags = flags_of(path);
    let mut args: Vec<&str> = vec![path.to_str().unwrap()];
    args.extend(flags.iter().map(String::as_str));
    args.extend_from_slice(extra);
    taplab(&args)
}

#[test]
fn every_example_passes_and_reports_the_same_twice() {
    let all = examples();
    let names: Vec<String> = all
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in [
        "handshake",
        "get-200",
        "close-client-first",
        "close-three-segment",
        "close-server-first",
        "close-idle",
        "rst-closed-port",
        "rst-abort",
        "time-ranges",
        "seq-wildcards",
        "tfo-cookie",
        "md5-option",
        "ipv6-get",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "missing example {required}"
        );
    }
    for path in &all {
        let first = run_example(path, &[]);
        assert!(
            first.status.success(),
            "{}: {}",
            path.display(),
            show(&first)
        );
        let out = text(&first.stdout);
        let n = events_in(path);
        assert!(
            out.ends_with(&format!("{n} lines passed\n")),
            "{}: {}",
            path.display(),
            show(&first)
        );
        assert_eq!(
            out.matches(" ok: ").count(),
            n,
            "{}: one ok per line",
            path.display()
        );
        let second = run_example(path, &[]);
        assert_eq!(
            text(&second.stdout),
            out,
            "{}: not deterministic",
            path.display()
        );
    }
}

/// An example with its flags, but `--isn isn` instead of any --isn it names.
fn run_with_isn(path: &Path, isn: &str) -> Output {
    let flags = flags_of(path);
    let mut args: Vec<&str> = vec![path.to_str().unwrap()];
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        if f == "--isn" {
            it.next();
        } else {
            args.push(f);
        }
    }
    args.extend(["--isn", isn]);
    taplab(&args)
}

#[test]
fn relative_numbers_work_with_any_isn() {
    for name in ["handshake", "get-200", "close-server-first"] {
        let path = Path::new(EXAMPLES).join(format!("{name}.pkt"));
        for isn in ["0", "4294967200", "random", "keyed"] {
            let out = run_with_isn(&path, isn);
            assert!(out.status.success(), "{name} --isn {isn}: {}", show(&out));
        }
        let out = run_with_isn(&path, "4294967200");
        assert!(
            text(&out.stdout).contains("(our ISN on the wire: 4294967200)"),
            "{}",
            show(&out)
        );
    }
}

/// Writes `body` to a script file of its own and returns its path.
fn script_file(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taplab-script-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

/// The GET example with line `line` (1-based, in the file) replaced.
fn get_with(line: usize, replacement: &str) -> String {
    let text = std::fs::read_to_string(Path::new(EXAMPLES).join("get-200.pkt")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[line - 1] = replacement;
    lines.join("\n") + "\n"
}

fn line_of(body: &str, starts: &str) -> usize {
    body.lines().position(|l| l.starts_with(starts)).unwrap() + 1
}

#[test]
fn a_wrong_window_fails_naming_the_line_and_showing_the_segment() {
    let base = std::fs::read_to_string(Path::new(EXAMPLES).join("get-200.pkt")).unwrap();
    let n = line_of(&base, "+0    > S.");
    let body = get_with(n, "+0    > S. 0:0(0) ack 1 win 1234");
    let path = script_file("wrong-win.pkt", &body);
    let out = taplab(&[path.to_str().unwrap(), "--isn", "1000"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "line {n} FAILED: +0    > S. 0:0(0) ack 1 win 1234\n"
        )),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains(
            "    actual  0.000 > S. 0:0(0) ack 1 win 16384 <mss 1460,wscale 0,sackOK,eol>   (our ISN on the wire: 1000)\n"
        ),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains("    - win: expected 1234, got 16384\n"),
        "{}",
        show(&out)
    );
    assert!(!stdout.contains("lines passed"), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "wrong-win.pkt:{n}: the script failed after 1 line(s) passed"
        )),
        "{}",
        show(&out)
    );
}

#[test]
fn with_its_flags_a_failing_script_gets_no_flags_hint() {
    let base = std::fs::read_to_string(Path::new(EXAMPLES).join("get-200.pkt")).unwrap();
    let n = line_of(&base, "+0    > S.");
    let path = script_file(
        "wrong-win-2.pkt",
        &get_with(n, "+0    > S. 0:0(0) ack 1 win 7"),
    );
    let out = taplab(&[path.to_str().unwrap(), "--isn", "1000"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(!text(&out.stderr).contains("flags"), "{}", show(&out));
}

#[test]
fn a_wrong_ack_fails_with_the_actual_ack() {
    let base = std::fs::read_to_string(Path::new(EXAMPLES).join("get-200.pkt")).unwrap();
    let n = line_of(&base, "+0    > P.");
    let body = get_with(n, "+0    > P. 2049:2261(212) ack 38");
    let path = script_file("wrong-ack.pkt", &body);
    let out = taplab(&[path.to_str().unwrap(), "--isn", "1000"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("line {n} FAILED")),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains("    actual  0.002 > P. 2049:2261(212) ack 39 win 16384\n"),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains("    - ack: expected 38, got 39\n"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_missing_segment_fails_with_nothing_within_the_tolerance() {
    // Keep-alive: no FIN comes 100 ms after the response.
    let body = std::fs::read_to_string(Path::new(EXAMPLES).join("get-200.pkt")).unwrap()
        + "+0.1 > F. 2261:2261(0) ack 39\n";
    let path = script_file("no-fin.pkt", &body);
    let out = taplab(&[path.to_str().unwrap(), "--tolerance", "5"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("expected at 0.103 ± 5 ms"),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains(
            "actual  nothing within 5 ms of 0.103 (nothing at all since the previous line at 0.003)"
        ),
        "{}",
        show(&out)
    );
}

#[test]
fn without_its_flags_a_script_fails_and_says_which_it_needs() {
    let path = Path::new(EXAMPLES).join("close-server-first.pkt");
    let out = taplab(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("its `// flags:` line asks for: taplab lab --script")
            && text(&out.stderr).contains("--close server-first --isn 1000"),
        "{}",
        show(&out)
    );
}

#[test]
fn syntax_errors_point_at_line_and_column() {
    let path = script_file(
        "syntax.pkt",
        "// a comment\n0 < S 0:0(0) win 65535 <mss 1460 wscale 7>\n",
    );
    let out = taplab(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("syntax.pkt:2:34: expected `,` or `>` in the options list"),
        "{}",
        show(&out)
    );
    assert!(
        stderr.contains(
            "    0 < S 0:0(0) win 65535 <mss 1460 wscale 7>\n                                     ^"
        ),
        "{}",
        show(&out)
    );
    assert!(text(&out.stdout).is_empty(), "{}", show(&out));
}

#[test]
fn a_script_can_come_from_stdin() {
    let script = std::fs::read_to_string(Path::new(EXAMPLES).join("rst-closed-port.pkt")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_taplab"))
        .args(["lab", "--www", "tests/site", "--script", "-"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("got     0.000 > R. 0:0(0) ack 1 win 0 port 81\n"),
        "{}",
        show(&out)
    );
}

#[test]
fn bad_knobs_and_files_are_one_line_errors() {
    let out = taplab(&["/nonexistent/x.pkt"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read the script /nonexistent/x.pkt"));
    let path = Path::new(EXAMPLES).join("handshake.pkt");
    let out = taplab(&[path.to_str().unwrap(), "--mss", "99999"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses it: {}",
        show(&out)
    );
    let out = taplab(&[path.to_str().unwrap(), "--www", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot serve site root /nonexistent"));
}

/// The frames of a classic pcap file (little-endian, as taplab writes it).
fn pcap_frames(pcap: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut i = 24;
    while i + 16 <= pcap.len() {
        let len = u32::from_le_bytes(pcap[i + 8..i + 12].try_into().unwrap()) as usize;
        frames.push(&pcap[i + 16..i + 16 + len]);
        i += 16 + len;
    }
    frames
}

#[test]
fn an_ipv6_script_runs_over_ipv6_only() {
    let path = Path::new(EXAMPLES).join("ipv6-get.pkt");
    let pcap = script_file("ipv6.pcap", "");
    let out = run_example(&path, &["--pcap", pcap.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    let bytes = std::fs::read(&pcap).unwrap();
    let frames = pcap_frames(&bytes);
    // Every frame is IPv6 (no ARP, no IPv4): ethertype 86dd.
    assert!(
        frames.iter().all(|f| f[12..14] == [0x86, 0xdd]),
        "{frames:?}"
    );
    let peer: [u8; 16] = "fdaa::100".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let ours: [u8; 16] = "fdaa::1".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let tcp: Vec<&&[u8]> = frames.iter().filter(|f| f[14 + 6] == 6).collect();
    let icmp: Vec<&&[u8]> = frames.iter().filter(|f| f[14 + 6] == 58).collect();
    assert_eq!(tcp.len(), 9, "one frame per line");
    for f in &tcp {
        let (src, dst) = (&f[22..38], &f[38..54]);
        assert!(
            (src, dst) == (&peer[..], &ours[..]) || (src, dst) == (&ours[..], &peer[..]),
            "{f:?}"
        );
    }
    // Neighbor discovery in ARP's place: the peer's solicitation (type 135) first, our
    // advertisement (136).
    let types: Vec<u8> = icmp.iter().map(|f| f[54]).collect();
    assert_eq!(types, [135, 136]);
    assert!(
        std::ptr::eq(frames[0], *icmp[0]),
        "the solicitation comes first"
    );
    let _ = std::fs::remove_file(&pcap);

    // Over IPv4 the same script fails (our MSS is 1460 there), and says what it needs.
    let out = taplab(&[path.to_str().unwrap(), "--isn", "1000"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains(
            "- options: expected <mss 1440,wscale 0,sackOK,eol>, got <mss 1460,wscale 0,sackOK,eol>"
        ),
        "{}",
        show(&out)
    );
    assert!(
        text(&out.stderr).contains("asks for: taplab lab --script")
            && text(&out.stderr).contains("--ipv6 --isn 1000"),
        "{}",
        show(&out)
    );
}

/// The time-ranges example with one line replaced.
fn ranges_with(starts: &str, replacement: &str) -> (usize, PathBuf) {
    let text = std::fs::read_to_string(Path::new(EXAMPLES).join("time-ranges.pkt")).unwrap();
    let n = line_of(&text, starts);
    let mut lines: Vec<&str> = text.lines().collect();
    lines[n - 1] = replacement;
    let name = format!("ranges-{n}-{}.pkt", replacement.len());
    (n, script_file(&name, &(lines.join("\n") + "\n")))
}

#[test]
fn a_segment_outside_its_time_range_fails_naming_the_range() {
    // The first retransmission comes at 1.003: a range that starts later fails it as
    // too early ...
    let (n, path) = ranges_with("+.5~+1.5 >", "+1.1~+1.5 > F. 2256:2256(0) ack 39");
    let out = taplab(&[path.to_str().unwrap(), "--close", "server-first"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("line {n} FAILED: +1.1~+1.5 > F.")),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains(
            "    - time: expected between 1.103 and 1.503 ± 10 ms, sent at 1.003 (too early)\n"
        ),
        "{}",
        show(&out)
    );
    // ... and a range that ends before it reports nothing between its edges.
    let (n, path) = ranges_with("+.5~+1.5 >", "+.1~+.5 > F. 2256:2256(0) ack 39");
    let out = taplab(&[path.to_str().unwrap(), "--close", "server-first"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("line {n} FAILED")),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains("    expected between 0.103 and 0.503 ± 10 ms\n")
            && stdout.contains("    actual  nothing between 0.093 and 0.513 (nothing at all since the previous line at 0.003)\n"),
        "{}",
        show(&out)
    );
}

#[test]
fn packetdrill_syntax_errors_point_at_line_and_column() {
    for (body, at, caret) in [
        (
            "0 < S 0:0(0)\n+0~0.2 > S. 0:0(0) ack 1\n",
            "syntax-range.pkt:2:4: a time range is relative at both ends",
            "    +0~0.2 > S. 0:0(0) ack 1\n       ^",
        ),
        (
            "0 < S 0:0(0) <FO 123>\n",
            "syntax-fo.pkt:1:18: the TFO cookie has an odd number of hex digits",
            "    0 < S 0:0(0) <FO 123>\n                     ^",
        ),
        (
            "0 < . *:*(0) ack 1\n",
            "syntax-seq.pkt:1:7: a wildcard is not allowed here",
            "    0 < . *:*(0) ack 1\n          ^",
        ),
    ] {
        let name = at.split(':').next().unwrap();
        let path = script_file(name, body);
        let out = taplab(&[path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(at), "{}", show(&out));
        assert!(stderr.contains(caret), "{}", show(&out));
        assert!(text(&out.stdout).is_empty(), "{}", show(&out));
    }
}

#[test]
fn the_readme_lists_every_example_with_its_flags() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = readme
        .split("#### Examples")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").nth(2))
        .expect("the README's examples table");
    for path in examples() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("{name} is not in the README's examples table"));
        let flags = flags_of(&path).join(" ");
        let shown = row.split('|').nth(2).unwrap().trim();
        if flags.is_empty() {
            assert!(shown.starts_with("(none"), "{name}: {row}");
        } else {
            assert_eq!(shown, format!("`{flags}`"), "{name}: {row}");
        }
    }
}

/// The edge guard's cases (RFC 5961, PAWS, duplicate SYN, out-of-order FIN, the
/// zero-window stall), one script each.
const GUARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts");
/// smoltcp on its own (`--no-guard`): its behaviour where taplab's layer changes it, and
/// how it recovers from loss — scripts that show it for a report upstream.
const SMOLTCP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/smoltcp");

fn passes(out: &Output, path: &Path) {
    let n = events_in(path);
    assert!(
        out.status.success() && text(&out.stdout).ends_with(&format!("{n} lines passed\n")),
        "{}: {}",
        path.display(),
        show(out)
    );
}

#[test]
fn the_guard_holds_for_every_isn() {
    let all = scripts_in(GUARD);
    assert!(all.len() >= 9, "{all:?}");
    for path in &all {
        // The keyed ISN (the default), a fixed one, and one whose numbers wrap past 2^32.
        for extra in [&[][..], &["--isn", "1000"], &["--isn", "4294967200"]] {
            passes(&run_example(path, extra), path);
        }
    }
}

#[test]
fn without_the_guard_smoltcp_does_otherwise() {
    // What the guard adds is what these scripts check: with --no-guard they fail, but for
    // the two where smoltcp already does the right thing (an exact RST closes, one
    // outside the window is dropped).
    for path in scripts_in(GUARD) {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let out = run_example(&path, &["--no-guard"]);
        let smoltcp_agrees = matches!(name.as_str(), "rst-exact" | "rst-out-of-window");
        assert_eq!(
            out.status.success(),
            smoltcp_agrees,
            "{name} with --no-guard: {}",
            show(&out)
        );
    }
}

#[test]
fn smoltcp_on_its_own_behaves_as_its_scripts_say() {
    let all = scripts_in(SMOLTCP);
    assert!(all.len() >= 8, "{all:?}");
    for path in &all {
        passes(&run_example(path, &[]), path);
    }
}

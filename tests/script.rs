//! `taplab lab --script`: every shipped example passes with the flags its first comment names,
//! gives the same report on every run, and holds for any ISN; wrong expectations fail
//! with the line, the actual segment and what differs. No tap, no root: the scripted
//! peer drives the server stack in memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/examples");

fn taplab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taplab"))
        .args(["lab", "--script"])
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
    let mut v: Vec<PathBuf> = std::fs::read_dir(EXAMPLES)
        .expect("scripts/examples")
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
            "    actual  0.000 > S. 0:0(0) ack 1 win 65535 <mss 1460,wscale 1,sackOK,eol>   (our ISN on the wire: 1000)\n"
        ),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains("    - win: expected 1234, got 65535\n"),
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
    let body = get_with(n, "+0    > P. 1461:2261(800) ack 38");
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
        stdout.contains("    actual  0.001 > P. 1461:2261(800) ack 39 win 32768\n"),
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
        stdout.contains("expected at 0.102 ± 5 ms"),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains(
            "actual  nothing within 5 ms of 0.102 (nothing at all since the previous line at 0.002)"
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
        .args(["lab", "--script", "-"])
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

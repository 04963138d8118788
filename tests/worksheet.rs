//! docs/worksheet.md, run as a student would run it, so that the worksheet and what taplab
//! does cannot drift apart.
//!
//! The worksheet's commands are its fenced blocks tagged `sh worksheet`, one command each;
//! the `text look-for` block after one quotes the lines of its output to look at. Here each
//! command runs through bash from a stage laid out like the repository (its `scripts/`,
//! `tests/` and `docs/`, with `taplab` on the PATH being the binary under test) whose `www/`
//! is the fixture site `tests/site/`, the page as shipped: a student's own page changes
//! lengths and sequence numbers, never what these tests expect. Every quoted line must
//! appear in the output, in order; `…` in a quoted line stands for anything within that
//! line. A block's tag may add `exit=N` (the status the command ends with; else 0),
//! `writes=OUT:DOC` (the command writes OUT, byte-equal to the repository's DOC: the
//! picture the worksheet shows) and `check=NAME` (a property a quoted line cannot state,
//! such as the time between two segments: the function NAME in [`CHECKS`]).
//!
//! Commands that start with `sudo` need root, a network namespace, tcpdump and curl: they
//! are the #[ignore]d test, which scripts/test.sh runs (as root, so `sudo` is the command
//! itself). The rest need nothing but the binary. A command outside a `sh worksheet`
//! block (a `sh` block without the tag; only the `sh setup` block before the first step,
//! which the stage stands in for, is exempt), a step with nothing to look for, or a check
//! that no step names fails the first test.

mod common;

use common::{BIN, TempDir, repo};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One command of the worksheet and what it says to look for.
#[derive(Debug)]
struct Step {
    /// Line of the command in docs/worksheet.md.
    line: usize,
    command: String,
    exit: i32,
    /// (file the command writes, relative to where it runs; the repository file it equals).
    writes: Option<(String, String)>,
    check: Option<String>,
    look_for: Vec<String>,
}

impl Step {
    fn needs_root(&self) -> bool {
        self.command.starts_with("sudo ")
    }

    fn name(&self) -> String {
        format!("docs/worksheet.md:{}: {}", self.line, self.command)
    }
}

/// A property of a command's output that a quoted line cannot state.
type Check = fn(&str) -> Result<(), String>;

/// The named checks (`check=NAME`); each must be named by a step of the worksheet.
const CHECKS: &[(&str, Check)] = &[("linger-200ms", linger_200ms), ("nagle-stall", nagle_stall)];

fn worksheet_text() -> String {
    std::fs::read_to_string(repo().join("docs/worksheet.md")).expect("docs/worksheet.md")
}

/// The worksheet: its set-up commands (`sh setup` blocks) and its steps.
#[derive(Debug)]
struct Worksheet {
    setup: Vec<String>,
    steps: Vec<Step>,
}

/// The set-up the worksheet asks for, which the stage stands in for: the `taplab` cargo
/// built for these tests is first on the PATH.
const SETUP: [&str; 2] = [
    "cargo build --release",
    "export PATH=$PWD/target/release:$PATH",
];

/// The worksheet's steps, or what is wrong with its form.
fn parse(md: &str) -> Result<Worksheet, String> {
    let lines: Vec<&str> = md.lines().collect();
    let mut steps: Vec<Step> = Vec::new();
    let mut setup: Vec<String> = Vec::new();
    let mut i = 0;
    // Whether the last fenced block closed was a command whose look-for may follow.
    let mut open_step = false;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```") else {
            if !lines[i].trim().is_empty() {
                open_step = false;
            }
            i += 1;
            continue;
        };
        let start = i + 1;
        let end = (start..lines.len())
            .find(|&j| lines[j].starts_with("```"))
            .ok_or_else(|| format!("line {start}: a fenced block that never closes"))?;
        let body: Vec<&str> = lines[start..end].to_vec();
        let mut words = info.split_whitespace();
        let lang = words.next().unwrap_or("");
        let tag = words.next().unwrap_or("");
        match (lang, tag) {
            ("sh", "worksheet") => {
                let mut step = step_of(start, &body)?;
                for attr in words {
                    attr_into(&mut step, attr)?;
                }
                steps.push(step);
                open_step = true;
            }
            ("text", "look-for") => {
                let step = steps.last_mut().filter(|_| open_step).ok_or_else(|| {
                    format!("line {start}: a look-for block that follows no command")
                })?;
                if !step.look_for.is_empty() {
                    return Err(format!("line {start}: a second look-for block"));
                }
                step.look_for = body
                    .iter()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect();
                open_step = false;
            }
            ("sh", "setup") if steps.is_empty() => {
                setup.extend(body.iter().map(|l| l.trim().to_string()));
                open_step = false;
            }
            ("sh" | "bash" | "shell" | "console", _) => {
                return Err(format!(
                    "line {start}: a command block not tagged `sh worksheet` (or `sh setup` \
                     before the first step): every command of the worksheet is run by \
                     tests/worksheet.rs"
                ));
            }
            _ => open_step = false,
        }
        i = end + 1;
    }
    for s in &steps {
        if s.look_for.is_empty() && s.check.is_none() && s.writes.is_none() {
            return Err(format!("{}: nothing to look for", s.name()));
        }
    }
    Ok(Worksheet { setup, steps })
}

/// The command of a `sh worksheet` block: one line (comments and blank lines aside).
fn step_of(line: usize, body: &[&str]) -> Result<Step, String> {
    let cmds: Vec<&str> = body
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let [command] = cmds[..] else {
        return Err(format!(
            "line {line}: a worksheet block holds one command, not {}",
            cmds.len()
        ));
    };
    Ok(Step {
        line: line + 1,
        command: command.to_string(),
        exit: 0,
        writes: None,
        check: None,
        look_for: Vec::new(),
    })
}

fn attr_into(step: &mut Step, attr: &str) -> Result<(), String> {
    let bad = || format!("{}: unknown tag `{attr}`", step.name());
    let (key, value) = attr.split_once('=').ok_or_else(bad)?;
    match key {
        "exit" => step.exit = value.parse().map_err(|_| bad())?,
        "check" => step.check = Some(value.to_string()),
        "writes" => {
            let (out, doc) = value.split_once(':').ok_or_else(bad)?;
            step.writes = Some((out.to_string(), doc.to_string()));
        }
        _ => return Err(bad()),
    }
    Ok(())
}

/// Where the quoted lines are missing from `out`: each must match a later line than the one
/// before it, its `…`-separated pieces in order within that line.
fn missing_lines(out: &str, look_for: &[String]) -> Option<String> {
    let lines: Vec<&str> = out.lines().collect();
    let mut from = 0;
    for want in look_for {
        let pieces: Vec<&str> = want.split('…').filter(|p| !p.is_empty()).collect();
        match (from..lines.len()).find(|&j| has_in_order(lines[j], &pieces)) {
            Some(j) => from = j + 1,
            None => {
                return Some(format!("`{want}` is not in the output after line {from}"));
            }
        }
    }
    None
}

fn has_in_order(line: &str, pieces: &[&str]) -> bool {
    let mut rest = line;
    for p in pieces {
        match rest.find(p) {
            Some(at) => rest = &rest[at + p.len()..],
            None => return false,
        }
    }
    true
}

/// A directory laid out like the repository for the commands to run in: `scripts`,
/// `tests` and `docs` link to the repository's, `www` to the fixture site, and
/// `bin/taplab` (first on the PATH, and demo.sh's TAPLAB_BIN) to the binary under test.
struct Stage {
    dir: TempDir,
}

impl Stage {
    fn new() -> Stage {
        let dir = TempDir::new("worksheet");
        let link = |target: PathBuf, name: &str| {
            std::os::unix::fs::symlink(&target, dir.path().join(name))
                .unwrap_or_else(|e| panic!("link {name} -> {}: {e}", target.display()));
        };
        for d in ["scripts", "tests", "docs"] {
            link(repo().join(d), d);
        }
        link(repo().join("tests/site"), "www");
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        link(PathBuf::from(BIN), "bin/taplab");
        Stage { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs one command through bash (at most 120 s), `sudo` being the command itself.
    fn run(&self, command: &str) -> Output {
        let bin = self.path().join("bin");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("timeout")
            .args(["120", "bash", "-c"])
            .arg(format!("sudo() {{ \"$@\"; }}\n{command}"))
            .current_dir(self.path())
            .env("PATH", path)
            .env("TAPLAB_BIN", bin.join("taplab"))
            .env_remove("RUST_LOG")
            .output()
            .expect("run bash")
    }
}

/// Runs a step and returns what is wrong with its output.
fn verify(stage: &Stage, step: &Step) -> Option<String> {
    let out = stage.run(&step.command);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let show = || {
        format!(
            "--- stdout\n{stdout}--- stderr\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    };
    if out.status.code() != Some(step.exit) {
        return Some(format!(
            "{}: exit status {:?}, the worksheet says {}\n{}",
            step.name(),
            out.status.code(),
            step.exit,
            show()
        ));
    }
    if let Some(why) = missing_lines(&stdout, &step.look_for) {
        return Some(format!("{}: {why}\n{}", step.name(), show()));
    }
    if let Some((file, doc)) = &step.writes {
        let made = std::fs::read(stage.path().join(file));
        let shown = std::fs::read(repo().join(doc)).unwrap_or_default();
        if made.as_ref().ok() != Some(&shown) {
            return Some(format!(
                "{}: {file} is not byte-equal to {doc} ({})",
                step.name(),
                match made {
                    Ok(b) => format!("{} bytes against {}", b.len(), shown.len()),
                    Err(e) => e.to_string(),
                }
            ));
        }
    }
    if let Some(name) = &step.check {
        let check = CHECKS
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f)
            .expect("checked by the form test");
        if let Err(why) = check(&stdout) {
            return Some(format!("{}: check {name}: {why}\n{}", step.name(), show()));
        }
    }
    None
}

fn verify_all(root: bool) -> usize {
    let steps = parse(&worksheet_text())
        .unwrap_or_else(|e| panic!("{e}"))
        .steps;
    let stage = Stage::new();
    let mine: Vec<&Step> = steps.iter().filter(|s| s.needs_root() == root).collect();
    let failures: Vec<String> = mine.iter().filter_map(|s| verify(&stage, s)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} worksheet commands do not show what the worksheet says:\n\n{}",
        failures.len(),
        mine.len(),
        failures.join("\n\n")
    );
    mine.len()
}

#[test]
fn the_worksheet_is_well_formed_and_covers_the_seeds() {
    let text = worksheet_text();
    let Worksheet { setup, steps } = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(setup, SETUP, "the set-up the tests stand in for");
    assert!(steps.len() >= 20, "{} steps", steps.len());
    for (name, _) in CHECKS {
        assert!(
            steps.iter().any(|s| s.check.as_deref() == Some(*name)),
            "check {name} is named by no step"
        );
    }
    for s in &steps {
        if let Some(c) = &s.check {
            assert!(
                CHECKS.iter().any(|(n, _)| n == c),
                "{}: no check named {c} in tests/worksheet.rs",
                s.name()
            );
        }
        assert!(
            s.command.starts_with("taplab ")
                || s.command.starts_with("sudo scripts/demo.sh")
                || s.command.starts_with("diff <(taplab "),
            "{}: a worksheet command is taplab, a knob pair to diff, or scripts/demo.sh",
            s.name()
        );
    }
    // Every observation of the seeds has its place, by row number, in the worksheet and
    // in docs/seeds.md.
    let seeds = std::fs::read_to_string(repo().join("docs/seeds.md")).expect("docs/seeds.md");
    let named = rows_named(&text);
    for row in 1..=14 {
        assert!(
            named.contains(&row),
            "docs/worksheet.md does not name seeds row {row}"
        );
        assert!(
            seeds.contains(&format!("\n| {row} |")),
            "docs/seeds.md has no row {row}"
        );
    }
    // The scenarios docs/seeds.md names exist.
    let list = Command::new(BIN)
        .args(["lab", "--list"])
        .output()
        .expect("taplab lab --list");
    let list = String::from_utf8_lossy(&list.stdout);
    let scenarios: Vec<&str> = list.lines().filter_map(|l| l.split(' ').next()).collect();
    for named in seeds.split("`taplab lab ").skip(1) {
        let name = named.split([' ', '`']).next().unwrap();
        if !name.starts_with('-') && name != "sweep" {
            assert!(
                scenarios.contains(&name),
                "docs/seeds.md names `taplab lab {name}`, which is not a scenario"
            );
        }
    }
}

/// The numbers N of every "row N" in `text` (the seeds' rows a passage is about).
fn rows_named(text: &str) -> Vec<u32> {
    text.split("row ")
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn the_form_checks_catch_an_untested_command() {
    let untested = "```sh\ntaplab lab handshake\n```\n";
    assert!(parse(untested).unwrap_err().contains("not tagged"));
    let nothing = "```sh worksheet\ntaplab lab handshake\n```\n";
    assert!(parse(nothing).unwrap_err().contains("nothing to look for"));
    let two = "```sh worksheet\ntaplab lab a\ntaplab lab b\n```\n";
    assert!(parse(two).unwrap_err().contains("one command"));
    let stray = "text\n\n```text look-for\nx\n```\n";
    let late_setup =
        "```sh worksheet\ntaplab x\n```\n\n```text look-for\nx\n```\n```sh setup\ny\n```\n";
    assert!(parse(late_setup).unwrap_err().contains("not tagged"));
    assert!(parse(stray).unwrap_err().contains("follows no command"));
    let ok = "```sh worksheet exit=1\ntaplab lab x\n```\n\n```text look-for\n  a … b  \n```\n";
    let steps = parse(ok).unwrap().steps;
    assert_eq!(steps[0].exit, 1);
    assert_eq!(steps[0].look_for, ["a … b"]);
    assert!(missing_lines("x a y b\n", &steps[0].look_for).is_none());
    assert!(missing_lines("x b y a\n", &steps[0].look_for).is_some());
    let order = ["one".to_string(), "two".to_string()];
    assert!(missing_lines("two\none\n", &order).is_some());
    assert!(missing_lines("one\ntwo\n", &order).is_none());
}

#[test]
fn every_lab_command_of_the_worksheet_shows_what_it_says() {
    let n = verify_all(false);
    assert!(n >= 20, "only {n} commands without root");
}

#[test]
#[ignore = "needs root (network namespaces, a tap), tcpdump and curl: run scripts/test.sh"]
fn every_root_command_of_the_worksheet_shows_what_it_says() {
    let n = verify_all(true);
    assert!(n >= 3, "only {n} commands that need root");
}

/// One row of a `taplab trace` listing.
struct Row {
    time: f64,
    source: String,
    info: String,
}

fn rows(out: &str) -> Vec<Row> {
    out.lines()
        .filter_map(|l| {
            // The first six columns are single words: No., Time, Source, Destination,
            // Protocol, Length; Info is the rest of the line, as printed.
            let (cols, info) = words_then_rest(l, 6)?;
            let [no, time, source, _dst, _proto, len] = cols[..] else {
                return None;
            };
            no.parse::<u64>().ok()?;
            len.parse::<u32>().ok()?;
            Some(Row {
                time: time.parse().ok()?,
                source: source.to_string(),
                info: info.to_string(),
            })
        })
        .collect()
}

/// The first `n` whitespace-separated words of `line` and the rest after them, trimmed.
fn words_then_rest(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut words = Vec::with_capacity(n);
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        words.push(&rest[..end]);
        rest = &rest[end..];
    }
    Some((words, rest.trim()))
}

fn from_server(r: &Row) -> bool {
    r.source == common::SERVER
}

/// `--close client-first --close-wait 200` on a real tap: our ACK of the client's FIN at
/// once, our FIN 200 ms later (four segments).
fn linger_200ms(out: &str) -> Result<(), String> {
    let rows = rows(out);
    let cfin = rows
        .iter()
        .position(|r| !from_server(r) && r.info.contains("[FIN, ACK]"))
        .ok_or("no FIN from the client")?;
    let after = &rows[cfin + 1..];
    let ack = after
        .iter()
        .find(|r| from_server(r) && r.info.contains("[ACK]"))
        .ok_or("no ACK of the client's FIN")?;
    let fin = after
        .iter()
        .find(|r| from_server(r) && r.info.contains("[FIN, ACK]"))
        .ok_or("no FIN from the server")?;
    let linger = fin.time - ack.time;
    if (0.19..2.0).contains(&linger) {
        Ok(())
    } else {
        Err(format!("our FIN came {linger:.3} s after our ACK"))
    }
}

/// `--nagle on` and two requests on one connection from curl: the first response's small
/// tail follows at once (Linux quick-ACKs the first segment), the second one's only after
/// Linux's delayed ACK (≥ 40 ms; 30 ms allows for the kernel's timer ticks).
fn nagle_stall(out: &str) -> Result<(), String> {
    let rows = rows(out);
    let gap = |nth: usize| -> Result<f64, String> {
        let request = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.info.starts_with("GET / HTTP/1.1"))
            .nth(nth)
            .map(|(i, _)| i)
            .ok_or(format!("no request {}", nth + 1))?;
        let after = &rows[request + 1..];
        let first = after
            .iter()
            .find(|r| from_server(r) && r.info.contains("HTTP/1.1 200 OK  [TCP segment"))
            .ok_or(format!("no first segment of response {}", nth + 1))?;
        let tail = after
            .iter()
            .find(|r| from_server(r) && r.info.contains("HTTP/1.1 200 OK  (text/html)"))
            .ok_or(format!("no end of response {}", nth + 1))?;
        Ok(tail.time - first.time)
    };
    let (first, second) = (gap(0)?, gap(1)?);
    if first < 0.03 && second >= 0.03 {
        Ok(())
    } else {
        Err(format!(
            "the tail came {first:.4} s after the first segment in the first response, \
             {second:.4} s in the second"
        ))
    }
}

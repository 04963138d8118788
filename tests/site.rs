//! A student's own page. The other tests serve a frozen copy of www/ (`tests/site/`, see
//! its README.md), so personalising www/ changes none of their expectations; these tests
//! check the other half of that promise: a personalised site — details filled in, the
//! audio regenerated from one's own introduction by `scripts/make-audio.sh` — still shows
//! every lab scenario's phenomenon, and make-audio gives the same bytes for the same text.
//!
//! No root and no network. What needs espeak-ng and sox (make-audio) is `#[ignore]`d
//! (scripts/test.sh installs them and runs it); a site with only the page personalised
//! is checked anywhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_taplab");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!(
            "taplab-site-{}-{}-{tag}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `scripts/make-audio.sh TEXT OUT`, asserting success.
fn make_audio(intro: &Path, out: &Path) -> Vec<u8> {
    let o = Command::new(repo().join("scripts/make-audio.sh"))
        .arg(intro)
        .arg(out)
        .output()
        .expect("run scripts/make-audio.sh");
    assert!(
        o.status.success(),
        "make-audio.sh: {}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    std::fs::read(out).unwrap()
}

#[test]
#[ignore = "needs espeak-ng and sox: run scripts/test.sh"]
fn make_audio_gives_the_same_bytes_for_the_same_text() {
    let dir = Scratch::new("audio");
    let intro = repo().join("scripts/intro.txt");
    let a = make_audio(&intro, &dir.0.join("a.wav"));
    let b = make_audio(&intro, &dir.0.join("b.wav"));
    assert!(a.len() > 44 && &a[..4] == b"RIFF", "not a WAV");
    assert!(a == b, "two runs on the same text differ");
    let other = dir.0.join("other.txt");
    std::fs::write(&other, "Another introduction.\n").unwrap();
    let c = make_audio(&other, &dir.0.join("c.wav"));
    assert!(a != c, "another text gave the same audio");
}

/// Copies the fixture site to `to` and personalises it as the README tells a student to:
/// the three placeholders of index.html's EDIT HERE block, and with `audio` an intro.wav
/// of their own (make-audio).
fn personalise(to: &Path, audio: bool) {
    for e in std::fs::read_dir(repo().join("tests/site")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    let page = std::fs::read_to_string(to.join("index.html")).unwrap();
    let mut mine = page.clone();
    for (placeholder, value) in [
        ("[your major]", "Computer Science and Engineering"),
        ("[your student ID]", "2024-123456"),
        ("[your name]", "Jiwoo Park"),
    ] {
        assert!(mine.contains(placeholder), "no {placeholder} in index.html");
        mine = mine.replace(placeholder, value);
    }
    std::fs::write(to.join("index.html"), &mine).unwrap();
    if !audio {
        return;
    }
    let intro = to.join("intro.txt");
    std::fs::write(
        &intro,
        "Hello, my name is Jiwoo Park. I study computer science and engineering. \
         My student ID is 2024 123456. I made this page for the networking lab, \
         and this audio was sent over TCP by taplab.\n",
    )
    .unwrap();
    let wav = make_audio(&intro, &to.join("intro.wav"));
    std::fs::remove_file(&intro).unwrap();
    let fixture = std::fs::read(repo().join("tests/site/intro.wav")).unwrap();
    assert!(wav != fixture, "the audio is the student's own");
}

/// `taplab lab SCENARIO --www SITE`.
fn lab(scenario: &str, site: &Path) -> Output {
    Command::new(BIN)
        .args(["lab", scenario, "--www"])
        .arg(site)
        .current_dir(repo())
        .env_remove("RUST_LOG")
        .output()
        .expect("run taplab")
}

#[test]
fn a_site_with_the_students_details_passes_every_scenario() {
    passes_every_scenario(false);
}

#[test]
#[ignore = "needs espeak-ng and sox: run scripts/test.sh"]
fn a_personalised_site_with_its_own_audio_passes_every_scenario() {
    passes_every_scenario(true);
}

/// A personalised site (its own audio too with `audio`) shows every scenario's
/// phenomenon, and the page the client fetches is the student's.
fn passes_every_scenario(audio: bool) {
    let site = Scratch::new("www");
    personalise(&site.0, audio);
    let list = Command::new(BIN).args(["lab", "--list"]).output().unwrap();
    let names: Vec<String> = text(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(names.len() >= 18, "{names:?}");
    // Two workers: the scenarios are independent processes.
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (names, site) = (&names, &site.0);
                s.spawn(move || {
                    names
                        .iter()
                        .skip(w)
                        .step_by(2)
                        .filter_map(|n| {
                            let out = lab(n, site);
                            let stdout = text(&out.stdout);
                            let verdict = stdout.lines().last().unwrap_or("").to_string();
                            (!out.status.success() || !verdict.starts_with("PASS"))
                                .then(|| format!("{n}: {verdict}\n{}", text(&out.stderr)))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "on a personalised site:\n{}",
        failures.join("\n")
    );
    // The page the client fetched is the student's, not the fixture.
    let out = lab("request", &site.0);
    let stdout = text(&out.stdout);
    let len = std::fs::metadata(site.0.join("index.html")).unwrap().len();
    assert!(
        stdout.contains(&format!(" {len} bytes  ok: body equals the file")),
        "{stdout}"
    );
}

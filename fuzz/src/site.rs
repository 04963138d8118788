//! The site the fuzzed servers serve: a small temporary directory with each kind of file
//! the resolver distinguishes, made once per machine.
//!
//! ```text
//! <tmp>/taplab-fuzz-site-v1/outside.txt          not under the root
//! <tmp>/taplab-fuzz-site-v1/root/index.html
//! <tmp>/taplab-fuzz-site-v1/root/style.css
//! <tmp>/taplab-fuzz-site-v1/root/logo.svg
//! <tmp>/taplab-fuzz-site-v1/root/big.bin         96 KiB: many segments, ranges
//! <tmp>/taplab-fuzz-site-v1/root/empty.txt       0 bytes
//! <tmp>/taplab-fuzz-site-v1/root/sub/index.html
//! <tmp>/taplab-fuzz-site-v1/root/emptydir/       no index.html
//! <tmp>/taplab-fuzz-site-v1/root/.secret         dotfile
//! <tmp>/taplab-fuzz-site-v1/root/escape.txt  -> ../outside.txt (leads outside)
//! <tmp>/taplab-fuzz-site-v1/root/sublink     -> sub            (stays inside)
//! ```
//!
//! Why one fixed directory and not one per process: libFuzzer ends its process with
//! `exit`, so nothing would remove a per-process directory. The tree is built under a
//! private name and renamed into place, so concurrent first uses never see half of it;
//! its content never changes (a change of content takes a new `-vN` name).
//!
//! A [`Site`] keeps a cache of the files it served (a `RefCell`: a site belongs to one
//! thread), so it is opened once per thread, and every input gets a clone of it as
//! opened, with an empty cache: what one input looked up cannot change the next one's
//! run.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use taplab::http::Site;

const NAME: &str = "taplab-fuzz-site-v1";
pub const BIG_LEN: usize = 96 * 1024;

/// The site, with nothing cached yet (a clone of the one this thread opened).
pub fn site() -> Site {
    thread_local! {
        static SITE: Site = open();
    }
    SITE.with(Site::clone)
}

fn open() -> Site {
    let base = match ensure(&std::env::temp_dir()) {
        Ok(b) => b,
        Err(e) => panic!("cannot create the fuzz site under the temp dir: {e}"),
    };
    match Site::open(&base.join("root")) {
        Ok(s) => s,
        Err(e) => panic!("cannot open the fuzz site: {e}"),
    }
}

/// Makes `<tmp>/taplab-fuzz-site-v1` if it is not there yet; returns its path.
fn ensure(tmp: &Path) -> io::Result<PathBuf> {
    let base = tmp.join(NAME);
    if base.join("root").is_dir() {
        return Ok(base);
    }
    let staging = tmp.join(format!("{NAME}.{}.tmp", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    build(&staging)?;
    // Whoever renames first wins; the loser's copy is identical and removed.
    if fs::rename(&staging, &base).is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    if base.join("root").is_dir() {
        Ok(base)
    } else {
        Err(io::Error::other(format!(
            "{} was not created",
            base.display()
        )))
    }
}

fn build(base: &Path) -> io::Result<()> {
    let root = base.join("root");
    for dir in ["sub", "emptydir"] {
        fs::create_dir_all(root.join(dir))?;
    }
    fs::write(base.join("outside.txt"), b"outside the root\n")?;
    fs::write(
        root.join("index.html"),
        b"<!doctype html><title>fuzz</title><link rel=stylesheet href=style.css>\
          <img src=logo.svg><p>taplab fuzz site</p>\n",
    )?;
    fs::write(
        root.join("style.css"),
        b"body { font-family: sans-serif }\n",
    )?;
    fs::write(
        root.join("logo.svg"),
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"/>\n",
    )?;
    let big: Vec<u8> = (0..BIG_LEN).map(|i| (i % 251) as u8).collect();
    fs::write(root.join("big.bin"), big)?;
    fs::write(root.join("empty.txt"), b"")?;
    fs::write(root.join("sub/index.html"), b"<!doctype html><p>sub</p>\n")?;
    fs::write(root.join(".secret"), b"a dotfile\n")?;
    std::os::unix::fs::symlink("../outside.txt", root.join("escape.txt"))?;
    std::os::unix::fs::symlink("sub", root.join("sublink"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_made_once_and_served_from_its_root() {
        let s = site();
        assert!(s.root().ends_with("taplab-fuzz-site-v1/root"));
        assert_eq!(
            fs::metadata(s.root().join("big.bin")).unwrap().len(),
            BIG_LEN as u64
        );
        // A second call finds the same directory.
        assert_eq!(
            ensure(&std::env::temp_dir()).unwrap(),
            s.root().parent().unwrap()
        );
    }
}

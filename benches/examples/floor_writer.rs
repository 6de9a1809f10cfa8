//! The physical floor of `kit render --output-dir`: reads a tree kit wrote
//! (`SOURCE`) into memory, then makes the same tree with the same bytes
//! in a hidden sibling of `DEST`, with one `syncfs` and one rename, on one
//! thread, and prints how long that took (reading `SOURCE` excluded).
//!
//! `cargo run --release -p kit-benches --example floor_writer -- SOURCE DEST`
//! (`benches/output_dir.sh` runs it against kit).

use std::path::{Path, PathBuf};
use std::time::Instant;

fn read_tree(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_tree(root, &p, out);
        } else {
            out.push((
                p.strip_prefix(root).unwrap().to_owned(),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (source, dest) = (Path::new(&args[1]), Path::new(&args[2]));
    let mut files = Vec::new();
    read_tree(source, source, &mut files);
    let staging = dest.with_file_name(format!(
        ".{}.floor",
        dest.file_name().unwrap().to_string_lossy()
    ));
    let t0 = Instant::now();
    std::fs::create_dir(&staging).unwrap();
    let mut made = std::collections::HashSet::new();
    for (rel, bytes) in &files {
        let parent = rel.parent().unwrap();
        if made.insert(parent.to_owned()) {
            std::fs::create_dir_all(staging.join(parent)).unwrap();
        }
        std::fs::write(staging.join(rel), bytes).unwrap();
    }
    let root = std::fs::File::open(&staging).unwrap();
    // SAFETY: syncfs on a file descriptor we own.
    assert_eq!(
        unsafe { libc::syncfs(std::os::unix::io::AsRawFd::as_raw_fd(&root)) },
        0
    );
    std::fs::rename(&staging, dest).unwrap();
    std::fs::File::open(dest.parent().unwrap())
        .unwrap()
        .sync_all()
        .unwrap();
    println!(
        "{} files in {:.1} ms",
        files.len(),
        t0.elapsed().as_secs_f64() * 1e3
    );
}

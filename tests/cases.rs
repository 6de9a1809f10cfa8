//! Project cases as input folders: `tests/cases/<name>/` holds a project
//! (`kit.yaml`, `templates/`, `partials/`, `secrets/`), the arguments in
//! `args` (one per line), and what kit must do: `stdout`, `stderr` and
//! `code`, compared exactly. To add a case, make the folder with `args`,
//! run `KIT_BLESS=1 cargo test -p kit-cli --test cli cases::` to write the
//! expectations, and read them before committing: they are the assertion.

use std::path::Path;

use crate::util::{kit, root};

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn project_cases() {
    let dir = root().join("tests/cases");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("args").is_file())
        .collect();
    names.sort();
    let bless = std::env::var_os("KIT_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &names {
        let args = read(&case.join("args"));
        let args: Vec<&str> = args.lines().collect();
        let r = kit(case, &args, &[], None);
        let got = [
            ("stdout", r.stdout),
            ("stderr", r.stderr),
            ("code", format!("{}\n", r.code)),
        ];
        for (file, text) in got {
            let path = case.join(file);
            if bless {
                std::fs::write(&path, &text).unwrap();
            } else if read(&path) != text {
                failures.push(format!(
                    "{}: {file} differs\n--- expected\n{}\n--- got\n{text}",
                    case.file_name().unwrap().to_string_lossy(),
                    read(&path)
                ));
            }
        }
    }
    assert!(
        names.len() >= 19,
        "the cases folder lost cases: {}",
        names.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

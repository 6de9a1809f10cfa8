//! End-to-end tests of `kit template`: the real binary, real files, exact
//! stdout, exact stderr, exit codes.

use crate::util as cli;

use std::path::{Path, PathBuf};
use std::process::Command;

use cli::{Run, root};

fn kit(args: &[&str], cwd: &Path) -> Run {
    cli::kit(cwd, args, &[], None)
}

/// A fresh directory with the given files.
fn project(files: &[(&str, &str)]) -> PathBuf {
    let dir = cli::temp_dir("template");
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn assert_fails(r: &Run, code: i32, stderr: &str) {
    assert_eq!(r.stdout, "", "stdout must be empty on error");
    assert_eq!(r.stderr, stderr);
    assert_eq!(r.code, code, "stderr: {}", r.stderr);
}

#[test]
fn renders_the_example_deployment_exactly() {
    let r = kit(
        &[
            "template",
            "fixtures/template/deployment.yaml",
            "--data",
            "fixtures/template/data.yaml",
        ],
        &root(),
    );
    assert_eq!(r.stderr, "");
    assert_eq!(r.code, 0);
    let expected = std::fs::read_to_string(root().join("fixtures/template/expected.yaml")).unwrap();
    assert_eq!(r.stdout, expected);
}

#[test]
fn writes_exactly_the_rendering_without_adding_a_newline() {
    let dir = project(&[("t.txt", "a={{a}}"), ("d.json", r#"{"a": "x"}"#)]);
    let r = kit(&["template", "t.txt", "--data", "d.json"], &dir);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "a=x", "")
    );
}

#[test]
fn escape_modes_and_lenient() {
    let dir = project(&[
        ("t.txt", "{{v}}|{{missing}}"),
        ("d.json", r#"{"v": "<yes>"}"#),
    ]);
    let r = kit(
        &[
            "template",
            "t.txt",
            "--data",
            "d.json",
            "--escape",
            "html",
            "--lenient",
        ],
        &dir,
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "&lt;yes&gt;|"));
    let r = kit(
        &[
            "template",
            "t.txt",
            "--data",
            "d.json",
            "--escape",
            "none",
            "--lenient",
        ],
        &dir,
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "<yes>|"));
}

#[test]
fn undefined_name_is_an_error_with_suggestion_and_snippet() {
    let dir = project(&[
        ("t.yaml", "metadata:\n  name: {{nmae}}\n"),
        ("d.yaml", "name: web\n"),
    ]);
    let r = kit(&["template", "t.yaml", "--data", "d.yaml"], &dir);
    assert_fails(
        &r,
        3,
        "error: t.yaml:2:9: 'nmae' is not defined; did you mean 'name'?\n  |\n2 |   name: {{nmae}}\n  |         ^\n  = hint: give the name a value in the data, wrap the tag in a section {{#name}}...{{/name}} to make it optional, or render with lenient undefined names\n",
    );
}

#[test]
fn syntax_error_points_at_the_open_section() {
    let dir = project(&[("t.yaml", "a: 1\n{{#items}}\n- {{.}}\n"), ("d.json", "{}")]);
    let r = kit(&["template", "t.yaml", "--data", "d.json"], &dir);
    assert_fails(
        &r,
        3,
        "error: t.yaml:2:1: unclosed section 'items'\n  |\n2 | {{#items}}\n  | ^\n",
    );
}

#[test]
fn unsafe_value_is_refused_without_revealing_it() {
    let dir = project(&[
        ("t.yaml", "data:\n  note: '{{secret}}'\n"),
        ("d.json", r#"{"secret": "hunter2\nrole: admin"}"#),
    ]);
    let r = kit(&["template", "t.yaml", "--data", "d.json"], &dir);
    assert_fails(
        &r,
        3,
        "error: t.yaml:2:10: the value of 'secret' cannot be written inside a single-quoted scalar: it contains a line break, which a single-quoted scalar cannot carry\n  |\n2 |   note: '{{secret}}'\n  |          ^\n  = hint: use a double-quoted scalar in the template: \"{{name}}\"\n",
    );
    assert!(!r.stderr.contains("hunter2"));
}

#[test]
fn partials_come_from_the_template_directory_or_partials_flag() {
    let dir = project(&[
        ("t.yaml", "labels:\n  {{>common/labels}}\n"),
        ("common/labels.mustache", "app: {{app}}\n"),
        ("other/common/labels.mustache", "team: {{app}}\n"),
        ("d.json", r#"{"app": "on"}"#),
    ]);
    let r = kit(&["template", "t.yaml", "--data", "d.json"], &dir);
    assert_eq!((r.code, r.stdout.as_str()), (0, "labels:\n  app: \"on\"\n"));
    let r = kit(
        &[
            "template",
            "t.yaml",
            "--data",
            "d.json",
            "--partials",
            "other",
        ],
        &dir,
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "labels:\n  team: \"on\"\n")
    );
}

#[test]
fn partial_names_cannot_leave_the_directory() {
    let dir = project(&[
        ("tpl/t.yaml", "x: 1\n{{>../secret}}\n"),
        ("secret.mustache", "leak: 1\n"),
        ("d.json", "{}"),
    ]);
    let r = kit(&["template", "tpl/t.yaml", "--data", "d.json"], &dir);
    assert_fails(
        &r,
        3,
        "error: partial name '../secret' is not allowed: '..' would leave the partials directory\n",
    );
}

#[cfg(unix)]
#[test]
fn symlinked_partials_pointing_outside_are_refused() {
    let dir = project(&[
        ("tpl/t.yaml", "{{>link}}"),
        ("outside.mustache", "x"),
        ("d.json", "{}"),
    ]);
    std::os::unix::fs::symlink(dir.join("outside.mustache"), dir.join("tpl/link.mustache"))
        .unwrap();
    let r = kit(&["template", "tpl/t.yaml", "--data", "d.json"], &dir);
    assert_fails(
        &r,
        3,
        "error: partial name 'link' is not allowed: it is a link to a file outside the partials directory\n",
    );
}

#[test]
fn missing_partial_is_an_error_in_strict_mode() {
    let dir = project(&[("t.yaml", "a:\n  {{>nope}}\n"), ("d.json", "{}")]);
    let r = kit(&["template", "t.yaml", "--data", "d.json"], &dir);
    assert_fails(
        &r,
        3,
        "error: t.yaml:2:3: partial 'nope' not found\n  |\n2 |   {{>nope}}\n  |   ^\n  = hint: add NAME.mustache to the partials directory or register the partial\n",
    );
}

#[test]
fn data_file_problems_exit_4() {
    let dir = project(&[
        ("t.yaml", "a: {{a}}\n"),
        ("d.txt", "a=1"),
        ("dup.yaml", "a: 1\na: 2\n"),
    ]);
    let r = kit(&["template", "t.yaml", "--data", "d.txt"], &dir);
    assert_fails(
        &r,
        4,
        "error: d.txt: cannot tell the data format\n  = hint: name the file with a .json, .yaml or .yml extension\n",
    );
    let r = kit(&["template", "t.yaml", "--data", "missing.json"], &dir);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert!(
        r.stderr.starts_with("error: cannot read missing.json: "),
        "{}",
        r.stderr
    );
    let r = kit(&["template", "t.yaml", "--data", "dup.yaml"], &dir);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert!(
        r.stderr
            .starts_with("error: dup.yaml: line 2 column 1: duplicate mapping key: a"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("duplicate"), "{}", r.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let r = kit(&["template", "t.yaml"], &root());
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert!(r.stderr.contains("--data <FILE>"), "{}", r.stderr);
}

#[test]
fn flags_fall_back_to_kit_env_vars() {
    let dir = project(&[("t.txt", "{{v}}"), ("d.json", r#"{"v": "<b>"}"#)]);
    let out = Command::new(env!("CARGO_BIN_EXE_kit"))
        .args(["template", "t.txt"])
        .current_dir(&dir)
        .env("KIT_DATA", "d.json")
        .env("KIT_ESCAPE", "html")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "&lt;b&gt;");
}

/// Issue 28's table through the binary: each row once exited 0 with a
/// document that read back as something else.
#[test]
fn a_scalar_made_of_several_pieces_is_quoted_whole() {
    let dir = project(&[
        (
            "t.yaml",
            "hosts:\n- {{host}}:{{port}}\nm1: {{a}}{{b}}\nm2: {{e}}{{b}}\nm3: {{a}}#1\nimage: {{i}}{{#t}}:{{t}}{{/t}}\nsafe: repo/{{i}}:{{host}}\n",
        ),
        (
            "d.json",
            r##"{"host": "8080", "port": "", "a": "release ", "b": "#42", "e": "", "i": "pg-14", "t": ""}"##,
        ),
    ]);
    let r = kit(&["template", "t.yaml", "--data", "d.json"], &dir);
    assert_eq!(
        (r.code, r.stderr.as_str(), r.stdout.as_str()),
        (
            0,
            "",
            "hosts:\n- \"8080:\"\nm1: \"release #42\"\nm2: \"#42\"\nm3: \"release #1\"\nimage: \"pg-14:\"\nsafe: repo/pg-14:8080\n"
        )
    );
}

#[test]
fn a_section_that_crosses_a_scalar_is_refused_at_its_line() {
    let dir = project(&[
        ("t.yaml", "a: 1\nk: {{a}}-{{#b}}y\nj: z{{/b}}\n"),
        ("d.json", r#"{"a": "x", "b": true}"#),
    ]);
    let r = kit(&["template", "t.yaml", "--data", "d.json"], &dir);
    assert_fails(
        &r,
        3,
        "error: t.yaml:2:4: the plain scalar made of 'a' cannot be written safely: a section opens inside it and closes after it (or the other way round), so the text it is made of depends on the data in a way kit cannot judge\n  |\n2 | k: {{a}}-{{#b}}y\n  |    ^\n  = hint: keep each section's {{#name}} and {{/name}} both inside the scalar or both outside it, or quote the whole scalar in the template\n",
    );
}

#[test]
fn yaml_output_that_does_not_parse_is_an_error_at_the_template_line() {
    // `""` is truthy (the spec), so the section renders an unclosed list.
    let dir = project(&[
        ("t.yaml", "a: 1\n{{#open}}\nb: [x\n{{/open}}\nc: {{{v}}}\n"),
        ("d.json", r#"{"open": "", "v": "top: secret"}"#),
    ]);
    let r = kit(&["template", "t.yaml", "--data", "d.json"], &dir);
    assert_eq!((r.code, r.stdout.as_str()), (3, ""), "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "error: t.yaml: the rendered output is not valid YAML at output line 3, column 2: "
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("(written by t.yaml:5:2)\n  |\n5 | c: {{{v}}}\n"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("secret"), "no data value: {}", r.stderr);
    // The same output is printed unchecked in the other modes.
    let r = kit(
        &["template", "t.yaml", "--data", "d.json", "--escape", "none"],
        &dir,
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "a: 1\nb: [x\nc: top: secret\n")
    );
}

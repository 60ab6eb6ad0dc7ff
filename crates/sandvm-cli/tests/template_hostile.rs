//! `sandvm template` with hostile input: deeply nested templates, helpers forging the
//! runtime's errors, and partials directories with symbolic links leading out or looping.

use std::path::Path;
use std::process::{Command, Output};

fn sandvm(args: &[&str], dir: &Path) -> (String, String, i32) {
    let o: Output =
        Command::new(env!("CARGO_BIN_EXE_sandvm")).args(args).current_dir(dir).output().expect("run sandvm");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, text).unwrap();
}

#[test]
fn deeply_nested_template_is_a_template_error() {
    let dir = tempfile::tempdir().unwrap();
    let src = format!("{}x{}", "{{#if a}}".repeat(5000), "{{/if}}".repeat(5000));
    write(dir.path(), "deep.hbs", &src);
    let col = (sandvm_template::MAX_NESTING - 1) * "{{#if a}}".len() + 1;
    let expected = format!(
        "sandvm: deep.hbs:1:{col}: the template exceeds the nesting depth limit ({})\n",
        sandvm_template::MAX_NESTING
    );
    let (out, err, code) = sandvm(&["template", "render", "deep.hbs"], dir.path());
    assert_eq!((out.as_str(), err.as_str(), code), ("", expected.as_str(), 1));
    let (_, err, code) = sandvm(&["template", "check", "deep.hbs"], dir.path());
    assert_eq!((err.as_str(), code), (expected.as_str(), 1));
    // Mustache too.
    write(dir.path(), "deep.mustache", &format!("{}{}", "{{#a}}".repeat(5000), "{{/a}}".repeat(5000)));
    let (_, err, code) = sandvm(&["template", "render", "--mustache", "deep.mustache"], dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the template exceeds the nesting depth limit"), "{err}");
}

#[test]
fn helper_compiling_a_deep_template_at_run_time_is_a_template_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "h.js",
        "Handlebars.registerHelper('deep', function () { return Handlebars.compile('{{#if a}}'.repeat(5000) + \
         '{{/if}}'.repeat(5000))({}); });",
    );
    write(dir.path(), "t.hbs", "{{deep}}");
    let (out, err, code) = sandvm(&["template", "render", "t.hbs", "--helpers", "h.js"], dir.path());
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("the template exceeds the nesting depth limit"), "{err}");
}

#[test]
fn a_forged_limit_error_does_not_change_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "h.js",
        "Handlebars.registerHelper('forge', function () { throw {svt: 'output_limit', message: 'output limit exceeded'}; });",
    );
    write(dir.path(), "t.hbs", "{{forge}}");
    let (_, err, code) = sandvm(&["template", "render", "t.hbs", "--helpers", "h.js"], dir.path());
    // A value thrown by a helper: a template error (1), not a limit (3).
    assert_eq!(code, 1, "{err}");
    assert_eq!(err, "sandvm: t.hbs: Uncaught: { svt: 'output_limit', message: 'output limit exceeded' }\n");
    // A real output limit is still 3.
    write(dir.path(), "big.js", "Handlebars.registerHelper('big', function () { return 'x'.repeat(5000); });");
    write(dir.path(), "b.hbs", "{{big}}");
    let (_, err, code) =
        sandvm(&["template", "render", "b.hbs", "--helpers", "big.js", "--max-output", "100"], dir.path());
    assert_eq!(code, 3, "{err}");
}

#[cfg(unix)]
#[test]
fn partials_directory_symlinks() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "outside/secret.hbs", "SECRET");
    write(d, "p/ok.hbs", "ok");
    write(d, "p/sub/inner.hbs", "inner");
    write(d, "t.hbs", "{{> ok}}|{{> sub/inner}}|{{> alias}}");
    // A link to a file inside the directory is followed; a link to the directory itself
    // (a cycle) is read once.
    symlink("ok.hbs", d.join("p/alias.hbs")).unwrap();
    symlink(".", d.join("p/self")).unwrap();
    symlink("..", d.join("p/sub/up")).unwrap();
    let (out, err, code) = sandvm(&["template", "render", "t.hbs", "--partials", "p"], d);
    assert_eq!((out.as_str(), code), ("ok|inner|ok", 0), "{err}");

    // A link leading outside is refused (exit 2) and nothing is rendered.
    symlink("../outside/secret.hbs", d.join("p/leak.hbs")).unwrap();
    let (out, err, code) = sandvm(&["template", "render", "t.hbs", "--partials", "p"], d);
    assert_eq!((out.as_str(), code), ("", 2), "{err}");
    assert!(err.contains("leak") && err.contains("leads outside the partials directory"), "{err}");
    std::fs::remove_file(d.join("p/leak.hbs")).unwrap();
    symlink("../outside", d.join("p/outdir")).unwrap();
    let (_, err, code) = sandvm(&["template", "render", "t.hbs", "--partials", "p"], d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("outdir") && err.contains("leads outside"), "{err}");
    std::fs::remove_file(d.join("p/outdir")).unwrap();

    // A self-pointing link ends with an error, not a loop.
    symlink("loop", d.join("p/loop")).unwrap();
    let (_, err, code) = sandvm(&["template", "render", "t.hbs", "--partials", "p"], d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("loop") && err.contains("does not resolve"), "{err}");
}

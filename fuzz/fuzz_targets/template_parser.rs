//! Target 4: the template parser and code generator. Any input either fails to parse with a
//! positioned error or compiles to JavaScript that itself parses (a template must never be able
//! to inject code by breaking out of the generated source); never a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandvm_template::{Mode, TemplateOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let Ok(source) = std::str::from_utf8(rest) else { return };
    let mode = if flags & 1 == 0 { Mode::Handlebars } else { Mode::Mustache };
    let options =
        TemplateOptions { mode, strict: flags & 2 != 0, no_escape: flags & 4 != 0, ..TemplateOptions::default() };
    let checked = sandvm_template::check(source, mode);
    match sandvm_template::compile_to_js(source, &options) {
        Ok(js) => {
            assert!(checked.is_ok(), "check rejected what compile_to_js accepted: {checked:?}");
            if let Err(e @ sandvm::Error::Syntax { .. }) = sandvm::Script::new(&js, "template.js") {
                panic!("generated JavaScript does not parse: {e}\n--- template ---\n{source}\n--- js ---\n{js}");
            }
        }
        Err(_) => assert!(checked.is_err(), "compile_to_js rejected what check accepted"),
    }
});

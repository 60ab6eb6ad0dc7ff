//! Target 6: the template parser with deep nesting. A structured generator turns the bytes into
//! a well-formed Handlebars or Mustache template whose blocks (`#if`, `#each`, `#with`,
//! `#unless`, inverted sections, partial blocks, `else` chains) nest up to thousands deep, with
//! a few mutations (a closing tag dropped or renamed) so that the error paths nest too. What must
//! hold: `check` and `compile_to_js` agree, never overflow the stack or crash, and accepted
//! templates compile to JavaScript that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandvm_template::{Mode, TemplateOptions};

const HBS_BLOCKS: &[(&str, &str)] = &[
    ("{{#if a}}", "{{/if}}"),
    ("{{#each items}}", "{{/each}}"),
    ("{{#with x as |y|}}", "{{/with}}"),
    ("{{#unless b}}", "{{/unless}}"),
    ("{{#if a}}x{{else if b}}", "{{/if}}"),
    ("{{#> layout}}", "{{/layout}}"),
    ("{{#*inline \"p\"}}", "{{/inline}}"),
    ("{{#each items}}{{@index}}{{else}}", "{{/each}}"),
];
const MUSTACHE_BLOCKS: &[(&str, &str)] = &[
    ("{{#a}}", "{{/a}}"),
    ("{{^b}}", "{{/b}}"),
    ("{{#list}}{{.}}", "{{/list}}"),
    ("{{=<% %>=}}<%#c%>", "<%/c%><%={{ }}=%>"),
];
const LEAVES: &[&str] = &["t", "{{v}}", "{{{raw}}}", "{{! c }}", "{{../up}}", "{{> p}}", "{{&amp}}", "\n"];

fuzz_target!(|data: &[u8]| {
    let [flags, depth_lo, depth_hi, shape @ ..] = data else { return };
    let mode = if flags & 1 == 0 { Mode::Handlebars } else { Mode::Mustache };
    let blocks = if mode == Mode::Handlebars { HBS_BLOCKS } else { MUSTACHE_BLOCKS };
    // Depth up to 4,095: far beyond any real template, well within what must not crash.
    let depth = (usize::from(*depth_hi) << 8 | usize::from(*depth_lo)) & 0xfff;
    let byte = |i: usize| shape.get(i % shape.len().max(1)).copied().unwrap_or(0);
    let mut open = String::new();
    let mut close = Vec::with_capacity(depth);
    for i in 0..depth {
        let b = byte(i);
        let (o, c) = blocks[usize::from(b) % blocks.len()];
        open.push_str(o);
        open.push_str(LEAVES[usize::from(b >> 4) % LEAVES.len()]);
        close.push(c);
    }
    let mut source = open;
    for (i, c) in close.iter().rev().enumerate() {
        match (flags >> 1) & 7 {
            // Mutations, at one position chosen by the input: drop or misname one closing tag.
            1 if i == usize::from(byte(depth)) => continue,
            2 if i == usize::from(byte(depth)) => source.push_str("{{/wrong}}"),
            _ => source.push_str(c),
        }
    }
    let options =
        TemplateOptions { mode, strict: flags & 16 != 0, no_escape: flags & 32 != 0, ..TemplateOptions::default() };
    let checked = sandvm_template::check(&source, mode);
    match sandvm_template::compile_to_js(&source, &options) {
        Ok(js) => {
            assert!(checked.is_ok(), "check rejected what compile_to_js accepted: {checked:?}");
            if let Err(e @ sandvm::Error::Syntax { .. }) = sandvm::Script::new(&js, "template.js") {
                panic!("generated JavaScript does not parse: {e}\n--- template ---\n{source}");
            }
        }
        Err(_) => assert!(checked.is_err(), "compile_to_js rejected what check accepted"),
    }
});

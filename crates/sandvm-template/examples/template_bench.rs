//! Renders/s for a ~2 KB Handlebars template with 50 data fields, warm (compiled once,
//! rendered repeatedly in the same sandbox). Prints one JSON line.
//!
//! `cargo run -p sandvm-template --example template_bench [-- ITERATIONS]`
//! (`examples/templates/bench.sh` runs it next to handlebars.js on node.)

use std::time::Instant;

/// The benchmark template and data, shared with `examples/templates/bench-handlebars.js`
/// (which builds the same strings).
fn template_and_data() -> (String, serde_json::Value) {
    let mut t = String::from("<section class=\"profile\">\n");
    let mut data = serde_json::Map::new();
    for i in 0..50 {
        t.push_str(&format!("<p>Field {i}: {{{{#if f{i}}}}}<b>{{{{f{i}}}}}</b>{{{{/if}}}}</p>\n"));
        data.insert(format!("f{i}"), serde_json::json!(format!("value <{i}> & more")));
    }
    t.push_str("</section>\n");
    (t, serde_json::Value::Object(data))
}

fn main() {
    let iterations: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let (template, data) = template_and_data();
    let mut t = match sandvm_template::Templates::new(sandvm::Limits::default()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = t.register_template("bench", &template) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
    // Warm up.
    for _ in 0..200 {
        let _ = t.render("bench", &data);
    }
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..iterations {
        match t.render("bench", &data) {
            Ok(s) => bytes += s.len(),
            Err(e) => {
                eprintln!("bench: {e}");
                std::process::exit(1);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"engine\":\"sandvm-template\",\"template_bytes\":{},\"fields\":50,\"iterations\":{iterations},\"renders_per_sec\":{:.0},\"output_bytes\":{}}}",
        template.len(),
        f64::from(iterations) / secs,
        bytes / iterations as usize
    );
}

//! The config evaluator: evaluate `examples/config/app.config.js` for two stages, validate it
//! against its schema, print it as TOML.
//!
//! `cargo run -p sandvm-apps --example config_eval`

use std::path::Path;

use sandvm_apps::config::{self, ConfigOptions, Format};

fn main() -> sandvm_apps::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/config");
    let schema = config::read_schema(dir.join("schema.json"))?;
    for stage in ["dev", "prod"] {
        // Only what is passed here is visible to the config as `env`.
        let opts = ConfigOptions::default().env_var("STAGE", stage);
        let out = config::eval_file_to_string(dir.join("app.config.js"), Some(&schema), Format::Toml, &opts)?;
        println!("# STAGE={stage}\n{out}");
    }
    // A config that breaks the schema gets every violation with its path.
    let bad = config::evaluate_source(
        "export default { name: 'x', stage: 'qa', server: { host: 'h', port: 0 }, replicas: 0 }",
        "bad.js",
        &ConfigOptions::default(),
    )?;
    if let Err(sandvm_apps::Error::Schema { violations }) = config::validate(&bad, &schema) {
        for v in violations {
            println!("invalid: {v}");
        }
    }
    Ok(())
}

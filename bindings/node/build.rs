//! Links the addon against Node-API (`napi_build::setup` sets the linker flags).
fn main() {
    napi_build::setup();
}

//! Target 3: the cached-data loader. Arbitrary bytes, and real cached data with bytes flipped,
//! truncated or extended, must be rejected with `CachedDataRejected` (never reach the engine's
//! bytecode reader, never crash); only the untouched data loads.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sandvm::{Error, Script};

const SOURCE: &str = "function f(a) { return [a, typeof globalThis, /x+/.test('xx')] } f(1)";

fn real() -> &'static [u8] {
    static DATA: OnceLock<Vec<u8>> = OnceLock::new();
    DATA.get_or_init(|| Script::new(SOURCE, "real.js").expect("compile").cached_data())
}

fuzz_target!(|data: &[u8]| {
    // 1. Arbitrary bytes (for the real source, and for a source taken from the input).
    match Script::with_cached_data(SOURCE, data) {
        Err(Error::CachedDataRejected(_)) => {}
        Ok(_) if data == real() => {}
        other => panic!("arbitrary bytes accepted or mis-reported: {other:?}"),
    }
    let src = String::from_utf8_lossy(data);
    assert!(matches!(Script::with_cached_data(&src, data), Err(Error::CachedDataRejected(_))));
    // 2. Real data, mutated as the input says: pairs of (position, xor mask); a final odd byte
    //    truncates or extends it.
    let mut bytes = real().to_vec();
    for pair in data.chunks_exact(2) {
        let pos = usize::from(pair[0]) * 7 % bytes.len();
        bytes[pos] ^= pair[1];
    }
    if data.len() % 2 == 1 {
        let n = usize::from(data[data.len() - 1]);
        if n % 2 == 0 {
            bytes.truncate(bytes.len().saturating_sub(n / 2 + 1));
        } else {
            bytes.extend(std::iter::repeat_n(0u8, n / 2 + 1));
        }
    }
    match Script::with_cached_data(SOURCE, &bytes) {
        Err(Error::CachedDataRejected(_)) => assert_ne!(bytes, real()),
        Ok(_) => assert_eq!(bytes, real(), "mutated cached data was accepted"),
        Err(other) => panic!("unexpected error {other:?}"),
    }
});

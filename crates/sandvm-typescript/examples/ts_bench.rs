//! Transform timings for the README (`scripts/typescript-figures.sh` runs it in release mode):
//! the median of many transforms of a 1 KB and a 50 KB TypeScript file. Prints one JSON line.
//! `cargo bench -p sandvm-typescript` has the same workloads as criterion benches.

use std::time::Instant;

fn sample(bytes: usize) -> String {
    let unit = include_str!("../benches/sample.ts");
    let mut s = String::new();
    let mut i = 0;
    while s.len() + unit.len() <= bytes.max(unit.len()) {
        s.push_str(&unit.replace("$N", &i.to_string()));
        i += 1;
    }
    s
}

fn median_us(src: &str, runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let out = sandvm_typescript::transform(src, "app.ts", &Default::default());
            assert!(out.is_ok(), "{:?}", out.err());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

fn main() {
    let small = sample(1024);
    let large = sample(50 * 1024);
    println!(
        "{{\"bytes_small\":{},\"transform_small_us\":{:.1},\"bytes_large\":{},\"transform_large_us\":{:.1}}}",
        small.len(),
        median_us(&small, 2000),
        large.len(),
        median_us(&large, 100)
    );
}

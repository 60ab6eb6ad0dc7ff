//! Transform of a 1 KB and a 50 KB TypeScript file (targets: <= 50 µs and <= 3 ms).

use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    for (name, src) in [("transform_1kb", sample(1024)), ("transform_50kb", sample(50 * 1024))] {
        c.bench_function(name, |b| {
            b.iter(|| sandvm_typescript::transform(&src, "app.ts", &Default::default()).map(|o| o.code.len()))
        });
    }
}

/// Typical TypeScript (interfaces, generics, enums, classes) repeated up to `bytes`.
fn sample(bytes: usize) -> String {
    let unit = include_str!("sample.ts");
    let mut s = String::new();
    let mut i = 0;
    while s.len() + unit.len() <= bytes.max(unit.len()) {
        s.push_str(&unit.replace("$N", &i.to_string()));
        i += 1;
    }
    s
}

criterion_group!(benches, bench);
criterion_main!(benches);

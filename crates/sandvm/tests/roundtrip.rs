//! Property tests: host JSON values survive a copy into the guest and back.

mod common;

use proptest::prelude::*;
use serde_json::{Map, Value as Json};

fn arb_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|i| Json::from(i % (1 << 53))),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null)),
        ".*".prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Json::Array),
            prop::collection::vec(("[a-z_$]{0,6}|.{0,4}", inner), 0..8)
                .prop_map(|kv| Json::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// What JavaScript makes of a value: every number is a double (compared as one), object keys
/// that look like array indices come first.
fn normalize(v: &Json) -> Json {
    match v {
        Json::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            Json::String(format!("number:{}", if f == 0.0 { 0.0 } else { f }))
        }
        Json::Array(a) => Json::Array(a.iter().map(normalize).collect()),
        Json::Object(o) => {
            // Integer-like keys come first in JavaScript property order.
            let mut ints: Vec<(u32, &String, &Json)> = Vec::new();
            let mut rest = Map::new();
            for (k, v) in o {
                match k.parse::<u32>() {
                    Ok(i) if i.to_string() == *k && i != u32::MAX => ints.push((i, k, v)),
                    _ => {
                        rest.insert(k.clone(), normalize(v));
                    }
                }
            }
            ints.sort_by_key(|(i, _, _)| *i);
            let mut out = Map::new();
            for (_, k, v) in ints {
                out.insert(k.clone(), normalize(v));
            }
            out.extend(rest);
            Json::Object(out)
        }
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn json_round_trips_through_the_guest(v in arb_json()) {
        let c = common::ctx();
        c.set_global("x", &v).unwrap();
        let out = c.eval("x").unwrap();
        prop_assert_eq!(out.value.as_ref().map(normalize), Some(normalize(&v)));
        // The host function path copies the same way.
        c.register_fn("echo", |(v,): (Json,)| Ok::<_, String>(v)).unwrap();
        let echoed = c.eval("echo(x)").unwrap();
        prop_assert_eq!(echoed.value.as_ref().map(normalize), Some(normalize(&v)));
    }

    #[test]
    fn arbitrary_source_never_panics(src in ".{0,200}") {
        let c = common::ctx_with(common::limits_ms(50), sandvm::ContextOptions::default());
        let _ = c.eval(&src);
        prop_assert_eq!(c.eval("1 + 1").unwrap().value, Some(serde_json::json!(2)));
    }
}

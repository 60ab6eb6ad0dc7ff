//! Copying values between the host (`serde_json::Value`) and the guest. Values are always
//! copied; no host reference ever reaches the guest.

use rquickjs::{Ctx, Type, Value};
use serde_json::Value as Json;

use crate::raw;

/// Copies a guest value out as JSON, where it has a JSON form.
///
/// Primitives convert directly; `undefined`, functions, symbols, bigints and non-finite
/// numbers have no JSON form (`None`). Objects go through the engine's own `JSON.stringify`
/// (so `toJSON` and getters run, under the run's limits; a cycle gives `None`).
pub(crate) fn to_json<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Option<Json> {
    match v.type_of() {
        Type::Undefined | Type::Uninitialized | Type::Symbol | Type::BigInt | Type::Function | Type::Constructor => {
            None
        }
        Type::Null => Some(Json::Null),
        Type::Bool => v.as_bool().map(Json::Bool),
        Type::Int => v.as_int().map(|i| Json::from(i64::from(i))),
        Type::Float => v.as_float().and_then(float_json),
        Type::String => Some(Json::String(raw::to_string_lossy(ctx, v))),
        _ => match raw::json_stringify(ctx, v) {
            Ok(Some(text)) => serde_json::from_str(&text).ok(),
            Ok(None) => None,
            Err(_exception) => None,
        },
    }
}

/// Copies a host JSON value into the guest as a fresh value of `ctx`'s realm.
pub(crate) fn from_json<'js>(ctx: &Ctx<'js>, v: &Json) -> raw::RawResult<'js> {
    match v {
        Json::Null => Ok(Value::new_null(ctx.clone())),
        Json::Bool(b) => Ok(Value::new_bool(ctx.clone(), *b)),
        Json::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => Ok(Value::new_int(ctx.clone(), i)),
            None => Ok(Value::new_float(ctx.clone(), n.as_f64().unwrap_or(f64::NAN))),
        },
        _ => {
            let text = v.to_string();
            raw::json_parse(ctx, &text)
        }
    }
}

/// A finite float as JSON; integral values within the exactly representable range become
/// integers (`5`, not `5.0`), as `JSON.stringify` would print them.
fn float_json(f: f64) -> Option<Json> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.fract() == 0.0 && f.abs() < EXACT {
        return Some(Json::from(f as i64));
    }
    serde_json::Number::from_f64(f).map(Json::Number)
}

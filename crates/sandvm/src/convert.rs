//! Copying values between the host (`serde_json::Value`) and the guest. Values are always
//! copied; no host reference ever reaches the guest.

use rquickjs::{Ctx, Type, Value};
use serde_json::Value as Json;

use crate::raw;

/// Deepest nesting of arrays and objects copied between the host and the guest: 128 levels,
/// the same cap `serde_json` applies when it parses. Deeper host values are refused with
/// [`crate::Error::TooDeep`] (a guest `RangeError` where a host function returns one);
/// deeper guest values have no JSON form on the host (`None`), as the engine's and
/// `serde_json`'s own bounded recursion decide.
pub const MAX_JSON_DEPTH: usize = 128;

/// Nesting depth of `v` (a scalar is 0), computed without recursion; stops counting once past
/// `limit`.
fn depth_within(v: &Json, limit: usize) -> bool {
    let mut stack: Vec<(&Json, usize)> = vec![(v, 0)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Json>> = match v {
            Json::Array(a) => Box::new(a.iter()),
            Json::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        if d + 1 > limit {
            return false;
        }
        stack.extend(children.map(|c| (c, d + 1)));
    }
    true
}

/// Refuses host JSON nested deeper than [`MAX_JSON_DEPTH`].
///
/// # Errors
/// [`crate::Error::TooDeep`].
pub(crate) fn check_depth(v: &Json) -> crate::Result<()> {
    if depth_within(v, MAX_JSON_DEPTH) {
        Ok(())
    } else {
        Err(crate::Error::TooDeep { max: MAX_JSON_DEPTH })
    }
}

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

/// Copies a host JSON value into the guest as a fresh value of `ctx`'s realm. A value nested
/// deeper than [`MAX_JSON_DEPTH`] gives a guest `RangeError` (never host recursion that deep).
pub(crate) fn from_json<'js>(ctx: &Ctx<'js>, v: &Json) -> raw::RawResult<'js> {
    if !depth_within(v, MAX_JSON_DEPTH) {
        let msg = format!("JSON value nested deeper than {MAX_JSON_DEPTH} levels");
        let _ = rquickjs::Exception::throw_range(ctx, &msg);
        return Err(ctx.catch());
    }
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

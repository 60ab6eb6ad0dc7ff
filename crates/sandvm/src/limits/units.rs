//! Reading a limit from a value a user wrote: a key (canonical or older) and a number, or
//! text with a unit. Every failure is a typed [`InvalidLimit`]; nothing overflows, rounds a
//! huge value down or reads an unbounded string.

use std::time::Duration;

use super::{InvalidLimit, InvalidReason, LimitField, LimitValue, MAX_DURATION};

/// The longest text (and key) a limit is read from, in bytes; longer text is refused with
/// [`InvalidReason::TooLong`] without being scanned, and error messages quote at most this.
pub const MAX_LIMIT_TEXT: usize = 64;

/// A value as a user wrote it: a number from JSON or TOML, text (`"64 MiB"`, `"250ms"`,
/// `"none"`), or a null.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitInput<'a> {
    /// A non-negative integer.
    Unsigned(u64),
    /// An integer that may be negative.
    Signed(i64),
    /// A floating-point number.
    Float(f64),
    /// Text: a number with an optional unit, or `none` for a time limit.
    Text(&'a str),
    /// No value (JSON `null`): no limit, for a time limit.
    Null,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Time,
    Size,
    Count,
}

/// The field a key names and the unit of a plain number under that key: nanoseconds per
/// unit for times, bytes per unit for sizes, 1 for counts.
pub(super) fn key_info(key: &str) -> Option<(LimitField, u128)> {
    const MS: u128 = 1_000_000;
    Some(match key {
        "timeout" | "timeout_ms" => (LimitField::Timeout, MS),
        "cpu_time" | "cpu_time_ms" => (LimitField::CpuTime, MS),
        "memory" => (LimitField::Memory, 1),
        "memory_mb" => (LimitField::Memory, 1 << 20),
        "stack" => (LimitField::Stack, 1),
        "stack_kb" => (LimitField::Stack, 1 << 10),
        "max_output" | "max_output_bytes" => (LimitField::MaxOutput, 1),
        "max_jobs" => (LimitField::MaxJobs, 1),
        _ => return None,
    })
}

fn kind(field: LimitField) -> Kind {
    match field {
        LimitField::Timeout | LimitField::CpuTime => Kind::Time,
        LimitField::Memory | LimitField::Stack | LimitField::MaxOutput => Kind::Size,
        LimitField::MaxJobs => Kind::Count,
    }
}

/// `s` cut to [`MAX_LIMIT_TEXT`] bytes (on a character boundary) for an error message.
pub(crate) fn cut(s: &str) -> String {
    if s.len() <= MAX_LIMIT_TEXT {
        return s.to_string();
    }
    let mut end = MAX_LIMIT_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Reads the value of the limit `key` names (a canonical key or an older one; see
/// [`super::Limits`] for the keys, units and rules).
///
/// ```
/// use std::time::Duration;
/// use sandvm::{parse_limit, LimitField, LimitInput, LimitValue};
/// let (field, v) = parse_limit("timeout", LimitInput::Text("250ms"))?;
/// assert_eq!((field, v), (LimitField::Timeout, LimitValue::Time(Some(Duration::from_millis(250)))));
/// let (_, v) = parse_limit("memory_mb", LimitInput::Unsigned(64))?; // an older key: MiB
/// assert_eq!(v, LimitValue::Bytes(64 << 20));
/// assert!(parse_limit("memory", LimitInput::Text("1e999 GiB")).is_err());
/// # Ok::<(), sandvm::InvalidLimit>(())
/// ```
///
/// # Errors
/// [`InvalidLimit`] naming `key`, with the reason: an unknown key, a negative number, not a
/// number (`NaN`), too large (past [`MAX_DURATION`], `usize` bytes or `u64` jobs), a unit
/// the field does not take, zero memory/stack/output, a fraction of a byte or job, text over
/// [`MAX_LIMIT_TEXT`] bytes, or a value of the wrong type.
pub fn parse_limit(key: &str, value: LimitInput<'_>) -> Result<(LimitField, LimitValue), InvalidLimit> {
    let fail = |reason| InvalidLimit { key: cut(key), reason };
    let (field, plain) = key_info(key).ok_or_else(|| fail(InvalidReason::UnknownKey))?;
    let kind = kind(field);
    let amount = match value {
        LimitInput::Null if kind == Kind::Time => return Ok((field, LimitValue::Time(None))),
        LimitInput::Null => return Err(fail(InvalidReason::WrongType("null"))),
        LimitInput::Unsigned(n) => Amount::Exact(u128::from(n) * plain),
        LimitInput::Signed(n) if n < 0 => return Err(fail(InvalidReason::Negative(n.to_string()))),
        LimitInput::Signed(n) => Amount::Exact(u128::from(n.unsigned_abs()) * plain),
        LimitInput::Float(x) => float_amount(x, plain as f64, &x.to_string()).map_err(fail)?,
        LimitInput::Text(s) => text_amount(s, kind, plain).map_err(fail)?,
    };
    let shown = || match value {
        LimitInput::Text(s) => cut(s.trim()),
        LimitInput::Unsigned(n) => n.to_string(),
        LimitInput::Signed(n) => n.to_string(),
        LimitInput::Float(x) => x.to_string(),
        LimitInput::Null => "null".into(),
    };
    let v = match (kind, amount) {
        (Kind::Time, Amount::None) => LimitValue::Time(None),
        (_, Amount::None) => return Err(fail(InvalidReason::NotPositive(shown()))),
        (Kind::Time, Amount::Exact(0)) => LimitValue::Time(None),
        (Kind::Time, Amount::Exact(ns)) if ns > MAX_DURATION.as_nanos() => {
            return Err(fail(InvalidReason::TooLarge { input: shown(), max: "365 days (or none)".into() }))
        }
        // At most MAX_DURATION, so it fits a u64 of nanoseconds.
        (Kind::Time, Amount::Exact(ns)) => LimitValue::Time(Some(Duration::from_nanos(ns as u64))),
        (Kind::Time, Amount::Float(ns)) if ns > MAX_DURATION.as_nanos() as f64 => {
            return Err(fail(InvalidReason::TooLarge { input: shown(), max: "365 days (or none)".into() }))
        }
        (Kind::Time, Amount::Float(0.0)) => LimitValue::Time(None),
        // A positive time never rounds down to "none": at least one nanosecond.
        (Kind::Time, Amount::Float(ns)) => LimitValue::Time(Some(Duration::from_nanos((ns as u64).max(1)))),
        (_, Amount::Float(x)) if x.fract() != 0.0 => return Err(fail(InvalidReason::NotWhole(shown()))),
        (k, Amount::Float(x)) => whole(k, if x >= 1.8e19 { u128::MAX } else { x as u128 }, &shown).map_err(fail)?,
        (k, Amount::Exact(n)) => whole(k, n, &shown).map_err(fail)?,
    };
    Ok((field, v))
}

/// A size or count from a whole number of bytes or jobs.
fn whole(kind: Kind, n: u128, shown: &dyn Fn() -> String) -> Result<LimitValue, InvalidReason> {
    if kind == Kind::Size {
        if n == 0 {
            return Err(InvalidReason::NotPositive(shown()));
        }
        let b = usize::try_from(n)
            .map_err(|_| InvalidReason::TooLarge { input: shown(), max: format!("{} bytes", usize::MAX) })?;
        return Ok(LimitValue::Bytes(b));
    }
    let c = u64::try_from(n).map_err(|_| InvalidReason::TooLarge { input: shown(), max: u64::MAX.to_string() })?;
    Ok(LimitValue::Count(c))
}

/// A quantity in the field's base unit (nanoseconds, bytes, jobs).
enum Amount {
    /// `none`.
    None,
    Exact(u128),
    Float(f64),
}

fn float_amount(x: f64, per: f64, shown: &str) -> Result<Amount, InvalidReason> {
    if x.is_nan() {
        return Err(InvalidReason::NotANumber(shown.to_string()));
    }
    if x < 0.0 {
        return Err(InvalidReason::Negative(shown.to_string()));
    }
    let v = x * per;
    if !v.is_finite() {
        return Err(InvalidReason::TooLarge { input: cut(shown), max: "a finite number".into() });
    }
    Ok(Amount::Float(v))
}

fn time_unit(u: &str) -> Option<u128> {
    Some(match u {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" | "sec" | "secs" => 1_000_000_000,
        "m" | "min" | "mins" => 60_000_000_000,
        "h" | "hr" | "hrs" => 3_600_000_000_000,
        _ => return None,
    })
}

fn size_unit(u: &str) -> Option<u128> {
    Some(match u {
        "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    })
}

fn text_amount(s: &str, kind: Kind, plain: u128) -> Result<Amount, InvalidReason> {
    if s.len() > MAX_LIMIT_TEXT {
        return Err(InvalidReason::TooLong(s.len()));
    }
    let t = s.trim();
    if kind == Kind::Time && (t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("unlimited")) {
        return Ok(Amount::None);
    }
    if t.starts_with('-') {
        return Err(InvalidReason::Negative(t.to_string()));
    }
    // The number: digits (with `_` separators), an optional fraction and exponent.
    let bytes = t.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && (bytes[*i].is_ascii_digit() || (bytes[*i] == b'_' && *i > start)) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return Err(InvalidReason::NotANumber(t.to_string()));
    }
    let mut integral = true;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        integral = false;
        if !digits(&mut i) {
            return Err(InvalidReason::NotANumber(t.to_string()));
        }
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            i = j;
            digits(&mut i);
            integral = false;
        }
    }
    let number: String = t[..i].chars().filter(|&c| c != '_').collect();
    let unit = t[i..].trim().to_ascii_lowercase();
    let per = if unit.is_empty() {
        plain
    } else {
        let found = match kind {
            Kind::Time => time_unit(&unit),
            Kind::Size => size_unit(&unit),
            Kind::Count => None,
        };
        found.ok_or(InvalidReason::UnknownUnit {
            input: t.to_string(),
            expected: match kind {
                Kind::Time => "ns, us, ms, s, min or h",
                Kind::Size => "B, KiB, MiB, GiB or TiB",
                Kind::Count => "a plain number",
            },
        })?
    };
    if integral {
        // Exact arithmetic; a number too long for u128 is too large for any field.
        let too_large = || InvalidReason::TooLarge { input: t.to_string(), max: "what the field holds".into() };
        let n: u128 = number.parse().map_err(|_| too_large())?;
        return n.checked_mul(per).map(Amount::Exact).ok_or_else(too_large);
    }
    let x: f64 = number.parse().map_err(|_| InvalidReason::NotANumber(t.to_string()))?;
    float_amount(x, per as f64, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(key: &str, v: LimitInput<'_>) -> LimitValue {
        parse_limit(key, v).unwrap_or_else(|e| panic!("{key} {v:?}: {e}")).1
    }

    fn reason(key: &str, v: LimitInput<'_>) -> InvalidReason {
        match parse_limit(key, v) {
            Err(e) => {
                assert_eq!(e.key, cut(key));
                e.reason
            }
            Ok(got) => panic!("{key} {v:?}: expected an error, got {got:?}"),
        }
    }

    const MIB: usize = 1 << 20;

    #[test]
    fn human_units_and_plain_numbers() {
        use LimitInput::*;
        let ms = |n| LimitValue::Time(Some(Duration::from_millis(n)));
        assert_eq!(ok("timeout", Text("250ms")), ms(250));
        assert_eq!(ok("timeout", Text("2s")), ms(2000));
        assert_eq!(ok("timeout", Text(" 1.5 s ")), ms(1500));
        assert_eq!(ok("timeout", Text("2 min")), ms(120_000));
        assert_eq!(ok("timeout", Text("250")), ms(250));
        assert_eq!(ok("timeout", Unsigned(250)), ms(250));
        assert_eq!(ok("timeout_ms", Signed(250)), ms(250));
        assert_eq!(ok("cpu_time", Float(0.5)), LimitValue::Time(Some(Duration::from_micros(500))));
        assert_eq!(ok("memory", Text("64 MiB")), LimitValue::Bytes(64 * MIB));
        assert_eq!(ok("memory", Text("64MiB")), LimitValue::Bytes(64 * MIB));
        assert_eq!(ok("memory", Text("1.5 MiB")), LimitValue::Bytes(3 * MIB / 2));
        assert_eq!(ok("memory", Text("64m")), LimitValue::Bytes(64 * MIB));
        assert_eq!(ok("memory", Unsigned(4096)), LimitValue::Bytes(4096));
        assert_eq!(ok("memory_mb", Unsigned(64)), LimitValue::Bytes(64 * MIB));
        assert_eq!(ok("memory_mb", Text("64")), LimitValue::Bytes(64 * MIB));
        assert_eq!(ok("memory_mb", Text("512 KiB")), LimitValue::Bytes(512 * 1024));
        assert_eq!(ok("stack_kb", Unsigned(256)), LimitValue::Bytes(256 * 1024));
        assert_eq!(ok("max_output_bytes", Text("1_000")), LimitValue::Bytes(1000));
        assert_eq!(ok("max_jobs", Text("1e6")), LimitValue::Count(1_000_000));
        assert_eq!(ok("max_jobs", Unsigned(0)), LimitValue::Count(0));
        assert_eq!(ok("max_jobs", Unsigned(u64::MAX)), LimitValue::Count(u64::MAX));
    }

    #[test]
    fn zero_none_and_null_mean_no_time_limit() {
        use LimitInput::*;
        for v in [Unsigned(0), Signed(0), Float(0.0), Text("0"), Text("0s"), Text("none"), Text("None"), Null] {
            assert_eq!(ok("timeout", v), LimitValue::Time(None), "{v:?}");
        }
        // A tiny positive time is not "none".
        assert_eq!(ok("timeout", Text("1e-20 s")), LimitValue::Time(Some(Duration::from_nanos(1))));
    }

    #[test]
    fn hostile_values_are_typed_errors() {
        use LimitInput::*;
        assert!(matches!(reason("memory", Signed(-1)), InvalidReason::Negative(_)));
        assert!(matches!(reason("timeout", Text("-5s")), InvalidReason::Negative(_)));
        assert!(matches!(reason("timeout", Float(-0.5)), InvalidReason::Negative(_)));
        assert!(matches!(reason("timeout", Float(f64::NAN)), InvalidReason::NotANumber(_)));
        assert!(matches!(reason("timeout", Text("NaN")), InvalidReason::NotANumber(_)));
        assert!(matches!(reason("timeout", Text("inf")), InvalidReason::NotANumber(_)));
        assert!(matches!(reason("timeout", Text("")), InvalidReason::NotANumber(_)));
        assert!(matches!(reason("timeout", Text(".5s")), InvalidReason::NotANumber(_)));
        assert!(matches!(reason("memory", Text("1e999 GiB")), InvalidReason::TooLarge { .. }));
        assert!(matches!(reason("memory", Float(f64::INFINITY)), InvalidReason::TooLarge { .. }));
        assert!(matches!(
            reason("memory", Text("99999999999999999999999999999999999999999 TiB")),
            InvalidReason::TooLarge { .. }
        ));
        assert!(matches!(reason("memory", Text("20000000 TiB")), InvalidReason::TooLarge { .. }));
        assert!(matches!(reason("memory_mb", Unsigned(u64::MAX)), InvalidReason::TooLarge { .. }));
        assert_eq!(ok("timeout", Text("366 h")), LimitValue::Time(Some(Duration::from_secs(366 * 3600))));
        assert!(matches!(reason("timeout", Text("9000 h")), InvalidReason::TooLarge { .. }));
        assert!(matches!(reason("timeout", Unsigned(u64::MAX)), InvalidReason::TooLarge { .. }));
        assert!(matches!(reason("max_jobs", Text("1e20")), InvalidReason::TooLarge { .. }));
        assert!(matches!(reason("memory", Text("64 parsecs")), InvalidReason::UnknownUnit { .. }));
        assert!(matches!(reason("timeout", Text("5 MiB")), InvalidReason::UnknownUnit { .. }));
        assert!(matches!(reason("max_jobs", Text("5k")), InvalidReason::UnknownUnit { .. }));
        assert!(matches!(reason("memory", Unsigned(0)), InvalidReason::NotPositive(_)));
        assert!(matches!(reason("stack", Text("0 KiB")), InvalidReason::NotPositive(_)));
        assert!(matches!(reason("memory", Null), InvalidReason::WrongType(_)));
        assert!(matches!(reason("max_output", Text("none")), InvalidReason::NotANumber(_)));
        assert!(matches!(reason("memory", Text("0.5 B")), InvalidReason::NotWhole(_)));
        assert!(matches!(reason("max_jobs", Float(1.5)), InvalidReason::NotWhole(_)));
        let huge = "9".repeat(1_000_000);
        assert_eq!(reason("memory", Text(&huge)), InvalidReason::TooLong(1_000_000));
        let e = parse_limit(&"k".repeat(10_000), Unsigned(1)).unwrap_err();
        assert_eq!(e.reason, InvalidReason::UnknownKey);
        assert!(e.to_string().len() < 400, "{e}");
    }

    #[test]
    fn errors_name_the_key_and_quote_the_value() {
        let e = parse_limit("memory_mb", LimitInput::Text("1e999 GiB")).unwrap_err();
        assert_eq!(e.to_string(), "limit `memory_mb`: \"1e999 GiB\" is too large (at most a finite number)");
        let e = parse_limit("timeout", LimitInput::Text("soon")).unwrap_err();
        assert_eq!(e.to_string(), "limit `timeout`: \"soon\" is not a number");
    }
}

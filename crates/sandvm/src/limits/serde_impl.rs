//! Serde for [`Limits`] and [`LimitOverrides`] (the `serde` feature): human units in, one
//! stable form out (see [`Limits`]).

use std::fmt;
use std::time::Duration;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::{parse_limit, InvalidLimit, InvalidReason, LimitField, LimitInput, LimitOverrides, LimitValue, Limits};

/// Deserializes [`Limits`] over a base other than [`Limits::default`]: fields the input
/// leaves out keep the base's value.
///
/// ```
/// use serde::de::DeserializeSeed;
/// let base = sandvm::Limits { memory: 256 << 20, ..Default::default() };
/// let mut de = serde_json::Deserializer::from_str(r#"{ "timeout": "30s" }"#);
/// let l = sandvm::LimitsSeed(&base).deserialize(&mut de)?;
/// assert_eq!((l.timeout, l.memory), (Some(std::time::Duration::from_secs(30)), 256 << 20));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LimitsSeed<'a>(pub &'a Limits);

impl<'de> DeserializeSeed<'de> for LimitsSeed<'_> {
    type Value = Limits;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Limits, D::Error> {
        if d.is_human_readable() {
            Ok(LimitOverrides::deserialize(d)?.apply(self.0))
        } else {
            Compact::deserialize(d).map(Compact::into_limits)
        }
    }
}

/// The positional form binary formats (postcard) carry: every field, exact.
type CompactTuple = (Option<Duration>, Option<Duration>, u64, u64, u64, u64);

#[derive(Serialize, Deserialize)]
struct Compact(CompactTuple);

impl Compact {
    fn of(l: &Limits) -> Compact {
        Compact((l.timeout, l.cpu_time, l.memory as u64, l.stack as u64, l.max_output as u64, l.max_jobs))
    }

    fn into_limits(self) -> Limits {
        let (timeout, cpu_time, memory, stack, max_output, max_jobs) = self.0;
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Limits { timeout, cpu_time, memory: size(memory), stack: size(stack), max_output: size(max_output), max_jobs }
    }
}

/// A value in its stable output form: times in milliseconds (`0` for none; a fraction
/// below a millisecond), sizes in bytes, counts.
enum Out {
    Int(u64),
    Float(f64),
}

impl Serialize for Out {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Out::Int(n) => s.serialize_u64(n),
            Out::Float(x) => s.serialize_f64(x),
        }
    }
}

fn out(v: LimitValue) -> Out {
    match v {
        LimitValue::Time(None) => Out::Int(0),
        LimitValue::Time(Some(d)) if d.subsec_nanos() % 1_000_000 == 0 => {
            Out::Int(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        }
        LimitValue::Time(Some(d)) => Out::Float(d.as_secs_f64() * 1000.0),
        LimitValue::Bytes(b) => Out::Int(b as u64),
        LimitValue::Count(n) => Out::Int(n),
    }
}

impl Serialize for Limits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return Compact::of(self).serialize(s);
        }
        let mut st = s.serialize_struct("Limits", LimitField::ALL.len())?;
        for f in LimitField::ALL {
            st.serialize_field(f.name(), &out(self.get(f)))?;
        }
        st.end()
    }
}

impl<'de> Deserialize<'de> for Limits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Limits, D::Error> {
        LimitsSeed(&Limits::default()).deserialize(d)
    }
}

impl Serialize for LimitOverrides {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.values.len()))?;
        for (f, v) in self.iter() {
            m.serialize_entry(f.name(), &out(v))?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for LimitOverrides {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LimitOverrides, D::Error> {
        d.deserialize_map(OverridesVisitor)
    }
}

struct OverridesVisitor;

impl<'de> Visitor<'de> for OverridesVisitor {
    type Value = LimitOverrides;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of limits (timeout, cpu_time, memory, stack, max_output, max_jobs)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LimitOverrides, A::Error> {
        let mut out = LimitOverrides::new();
        while let Some(key) = map.next_key::<String>()? {
            let (field, value) = map.next_value_seed(ValueSeed { key: &key, given: &out })?;
            out.values.push((field, value));
        }
        out.values.sort_by_key(|(f, _)| f.index());
        Ok(out)
    }
}

/// Reads the value of one key, in that key's units (errors in here carry the key's path).
struct ValueSeed<'a> {
    key: &'a str,
    given: &'a LimitOverrides,
}

impl ValueSeed<'_> {
    fn parse<E: de::Error>(&self, v: LimitInput<'_>) -> Result<(LimitField, LimitValue), E> {
        let (field, value) = parse_limit(self.key, v).map_err(E::custom)?;
        if self.given.get(field).is_some() {
            let e = InvalidLimit { key: super::units::cut(self.key), reason: InvalidReason::Duplicate };
            return Err(E::custom(e));
        }
        Ok((field, value))
    }

    fn wrong<E: de::Error>(&self, got: &'static str) -> Result<(LimitField, LimitValue), E> {
        let e = InvalidLimit { key: super::units::cut(self.key), reason: InvalidReason::WrongType(got) };
        Err(E::custom(e))
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = (LimitField, LimitValue);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = (LimitField, LimitValue);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a number or text with a unit for limit `{}`", super::units::cut(self.key))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.parse(LimitInput::Unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.parse(LimitInput::Signed(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.parse(LimitInput::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.parse(LimitInput::Text(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.parse(LimitInput::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.parse(LimitInput::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.wrong("a boolean")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        self.wrong("a list")
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        self.wrong("a table")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn json_input_takes_units_old_keys_and_keeps_defaults() {
        let l: Limits = serde_json::from_str(r#"{"timeout": "2s", "memory_mb": 16, "stack": "512 KiB"}"#).unwrap();
        assert_eq!(l.timeout, Some(Duration::from_secs(2)));
        assert_eq!((l.memory, l.stack), (16 * MIB, 512 * 1024));
        assert_eq!(l.max_jobs, Limits::default().max_jobs);
        let l: Limits = serde_json::from_str(r#"{"timeout": null, "cpu_time_ms": 0}"#).unwrap();
        assert_eq!((l.timeout, l.cpu_time), (None, None));
    }

    #[test]
    fn output_is_stable_and_reads_back() {
        let l = Limits {
            timeout: Some(Duration::from_micros(1500)),
            cpu_time: None,
            memory: 3 * MIB,
            stack: 300_000,
            max_output: 10,
            max_jobs: 7,
        };
        let text = serde_json::to_string(&l).unwrap();
        assert_eq!(
            text,
            r#"{"timeout":1.5,"cpu_time":0,"memory":3145728,"stack":300000,"max_output":10,"max_jobs":7}"#
        );
        assert_eq!(serde_json::from_str::<Limits>(&text).unwrap(), l);
        let d = Limits::default();
        assert_eq!(serde_json::from_value::<Limits>(serde_json::to_value(&d).unwrap()).unwrap(), d);
    }

    #[test]
    fn binary_formats_carry_every_field_exactly() {
        let l = Limits { timeout: Some(Duration::from_nanos(7)), cpu_time: Some(Duration::MAX), ..Limits::default() };
        let bytes = postcard::to_allocvec(&l).unwrap();
        assert_eq!(postcard::from_bytes::<Limits>(&bytes).unwrap(), l);
    }

    #[test]
    fn errors_name_the_key() {
        let e = serde_json::from_str::<Limits>(r#"{"memory": "1e999 GiB"}"#).unwrap_err().to_string();
        assert!(e.contains("limit `memory`") && e.contains("too large"), "{e}");
        let e = serde_json::from_str::<Limits>(r#"{"memroy": 1}"#).unwrap_err().to_string();
        assert!(e.contains("limit `memroy`: unknown limit"), "{e}");
        let e = serde_json::from_str::<Limits>(r#"{"memory": 1, "memory_mb": 1}"#).unwrap_err().to_string();
        assert!(e.contains("limit `memory_mb`: given twice"), "{e}");
        let e = serde_json::from_str::<Limits>(r#"{"timeout": [1]}"#).unwrap_err().to_string();
        assert!(e.contains("limit `timeout`") && e.contains("a list"), "{e}");
        let e = serde_json::from_str::<Limits>(r#"{"timeout": -1}"#).unwrap_err().to_string();
        assert!(e.contains("negative"), "{e}");
        assert!(serde_json::from_str::<Limits>("[1]").is_err());
    }

    #[test]
    fn overrides_write_only_what_was_given() {
        let o: LimitOverrides = serde_json::from_str(r#"{"memory_mb": 8, "timeout_ms": 250}"#).unwrap();
        assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"timeout":250,"memory":8388608}"#);
        let empty: LimitOverrides = serde_json::from_str("{}").unwrap();
        assert!(empty.is_empty());
    }
}

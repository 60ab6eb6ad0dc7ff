//! Resource limits for guest code: the one [`Limits`] type every front end uses, its fields
//! by name ([`LimitField`]), partial requests ([`LimitOverrides`]), the two capping policies
//! ([`Limits::within`] refuses, [`Limits::clamp_to`] clamps) and parsing of human units
//! (`"64 MiB"`, `"2s"`, `"250ms"`; see [`parse_limit`]).
//!
//! With the `serde` cargo feature, [`Limits`] and [`LimitOverrides`] (de)serialize: see
//! [`Limits`] for the input and output forms.

use std::fmt;
use std::time::Duration;

#[cfg(feature = "serde")]
mod serde_impl;
mod units;

#[cfg(feature = "serde")]
pub use serde_impl::LimitsSeed;
pub use units::{parse_limit, LimitInput, MAX_LIMIT_TEXT};

/// The most engine stack a guest may be given. rquickjs treats very large values as
/// "no stack check at all", which would let deep recursion kill the process, so every
/// user-supplied stack limit is clamped to this.
pub const MAX_STACK: usize = 8 * 1024 * 1024;

/// The least engine stack a guest may be given; smaller values cannot even build an error.
pub const MIN_STACK: usize = 32 * 1024;

/// The longest time limit that can be written as text or a number (365 days): longer
/// values are refused with [`InvalidReason::TooLarge`] (write `none` for no limit).
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Hard limits applied to every run, microtasks and async functions included.
///
/// A plain struct: build it with struct-update syntax from [`Limits::default`], set a field
/// by name from user text with [`Limits::set`], or (with the `serde` feature) deserialize it.
///
/// ```
/// use std::time::Duration;
/// let mut limits = sandvm::Limits { timeout: Some(Duration::from_millis(50)), ..Default::default() };
/// assert_eq!(limits.memory, 64 * 1024 * 1024);
/// limits.set("memory", sandvm::LimitInput::Text("16 MiB"))?;
/// assert_eq!(limits.memory, 16 * 1024 * 1024);
/// # Ok::<(), sandvm::InvalidLimit>(())
/// ```
///
/// # Names and units
///
/// | field | canonical key | plain numbers in | older keys (plain numbers in) |
/// | --- | --- | --- | --- |
/// | [`timeout`](Limits::timeout) | `timeout` | milliseconds | `timeout_ms` (ms) |
/// | [`cpu_time`](Limits::cpu_time) | `cpu_time` | milliseconds | `cpu_time_ms` (ms) |
/// | [`memory`](Limits::memory) | `memory` | bytes | `memory_mb` (MiB) |
/// | [`stack`](Limits::stack) | `stack` | bytes | `stack_kb` (KiB) |
/// | [`max_output`](Limits::max_output) | `max_output` | bytes | `max_output_bytes` (bytes) |
/// | [`max_jobs`](Limits::max_jobs) | `max_jobs` | jobs | |
///
/// Text may carry a unit: times `ns`, `us`, `ms`, `s`, `min`, `h` (`"250ms"`, `"1.5 s"`);
/// sizes `B`, `KiB`, `MiB`, `GiB`, `TiB` (also `K`/`KB`, `M`/`MB`, ...: always powers of
/// 1024). A time of `0`, `"none"` or `null` means no limit. Memory, stack and output must be
/// positive; sizes and job counts must be whole numbers. See [`parse_limit`] for the errors.
///
/// # Serde (the `serde` feature)
///
/// Input is a table or object of any of the keys above; a field left out keeps its default
/// ([`LimitsSeed`] deserializes over another base, [`LimitOverrides`] keeps only what was
/// given). Unknown keys and bad values are errors naming the key. Output is stable: every
/// canonical key with a number in its base unit (milliseconds with `0` for none, bytes,
/// jobs), which reads back as the same limits. Binary formats (postcard) use a compact
/// positional form instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time a run may take, from its first instruction until its last promise
    /// job. `None` means no wall-clock limit. By default, 1 second.
    pub timeout: Option<Duration>,
    /// CPU time the running thread may spend on a run. `None` means no CPU budget (the
    /// wall-clock timeout still applies). By default, `None`.
    pub cpu_time: Option<Duration>,
    /// Bytes of heap the engine may allocate for the runtime (all its contexts). By
    /// default, 64 MiB (at least 1 MiB is given; see [`Limits::effective_memory`]).
    pub memory: usize,
    /// Bytes of native stack the engine may use for guest code, clamped to
    /// [`MIN_STACK`]..=[`MAX_STACK`]. By default, 256 KiB.
    pub stack: usize,
    /// Bytes of output a run may produce: console text plus the completion value. By
    /// default, 1 MiB.
    pub max_output: usize,
    /// Promise jobs (microtasks) a run may execute. By default, 1,000,000.
    pub max_jobs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Some(Duration::from_secs(1)),
            cpu_time: None,
            memory: 64 * 1024 * 1024,
            stack: 256 * 1024,
            max_output: 1024 * 1024,
            max_jobs: 1_000_000,
        }
    }
}

/// One field of [`Limits`], by its canonical name.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LimitField {
    /// [`Limits::timeout`] (`timeout`).
    Timeout,
    /// [`Limits::cpu_time`] (`cpu_time`).
    CpuTime,
    /// [`Limits::memory`] (`memory`).
    Memory,
    /// [`Limits::stack`] (`stack`).
    Stack,
    /// [`Limits::max_output`] (`max_output`).
    MaxOutput,
    /// [`Limits::max_jobs`] (`max_jobs`).
    MaxJobs,
}

impl LimitField {
    /// Every field, in the order of [`Limits`] (and of its serialized form).
    pub const ALL: [LimitField; 6] = [
        LimitField::Timeout,
        LimitField::CpuTime,
        LimitField::Memory,
        LimitField::Stack,
        LimitField::MaxOutput,
        LimitField::MaxJobs,
    ];

    /// The canonical key: `timeout`, `cpu_time`, `memory`, `stack`, `max_output`, `max_jobs`.
    pub fn name(self) -> &'static str {
        match self {
            LimitField::Timeout => "timeout",
            LimitField::CpuTime => "cpu_time",
            LimitField::Memory => "memory",
            LimitField::Stack => "stack",
            LimitField::MaxOutput => "max_output",
            LimitField::MaxJobs => "max_jobs",
        }
    }

    /// The field a key names: a canonical key or an older one (`timeout_ms`, `cpu_time_ms`,
    /// `memory_mb`, `stack_kb`, `max_output_bytes`; see [`Limits`]).
    pub fn from_key(key: &str) -> Option<LimitField> {
        units::key_info(key).map(|(f, _)| f)
    }

    fn index(self) -> usize {
        match self {
            LimitField::Timeout => 0,
            LimitField::CpuTime => 1,
            LimitField::Memory => 2,
            LimitField::Stack => 3,
            LimitField::MaxOutput => 4,
            LimitField::MaxJobs => 5,
        }
    }
}

impl fmt::Display for LimitField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value of one limit. Displays in human units (`2s`, `250ms`, `none`, `64 MiB`,
/// `1000 B`, `1000000`), which [`parse_limit`] reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitValue {
    /// A time limit; `None` is no limit.
    Time(Option<Duration>),
    /// A size in bytes.
    Bytes(usize),
    /// A count.
    Count(u64),
}

impl fmt::Display for LimitValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LimitValue::Time(None) => f.write_str("none"),
            LimitValue::Time(Some(d)) => {
                let ns = d.as_nanos();
                for (unit, per) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
                    if ns % per == 0 {
                        return write!(f, "{}{unit}", ns / per);
                    }
                }
                write!(f, "{ns}ns")
            }
            LimitValue::Bytes(b) => {
                for (unit, shift) in [("TiB", 40u32), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
                    let per = 1u128 << shift;
                    if b != 0 && (b as u128) % per == 0 {
                        return write!(f, "{} {unit}", b as u128 / per);
                    }
                }
                write!(f, "{b} B")
            }
            LimitValue::Count(n) => write!(f, "{n}"),
        }
    }
}

/// A request asked for more than a configured maximum (see [`Limits::within`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {requested} is above the maximum of {max}")]
pub struct LimitExceeded {
    /// The first field (in [`LimitField::ALL`] order) that is over its maximum.
    pub field: LimitField,
    /// What was asked for.
    pub requested: LimitValue,
    /// The maximum.
    pub max: LimitValue,
}

/// A limit given by name and value could not be used (see [`parse_limit`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("limit `{key}`: {reason}")]
pub struct InvalidLimit {
    /// The key as written (cut to [`MAX_LIMIT_TEXT`] characters).
    pub key: String,
    /// What is wrong with it.
    pub reason: InvalidReason,
}

/// Why a limit could not be used. Values are quoted cut to [`MAX_LIMIT_TEXT`] characters.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidReason {
    /// The key names no limit.
    UnknownKey,
    /// A negative number.
    Negative(String),
    /// Not a number (`NaN`, letters, an empty string).
    NotANumber(String),
    /// Larger than the field can hold (see [`MAX_DURATION`]).
    TooLarge {
        /// The value as written.
        input: String,
        /// The largest value the field takes.
        max: String,
    },
    /// A unit this field does not take.
    UnknownUnit {
        /// The value as written.
        input: String,
        /// The units the field takes.
        expected: &'static str,
    },
    /// Zero (or `none`) where the field must be positive (memory, stack, output).
    NotPositive(String),
    /// A fraction where the field counts whole bytes or jobs.
    NotWhole(String),
    /// Text longer than [`MAX_LIMIT_TEXT`] characters.
    TooLong(usize),
    /// Neither a number nor text (a list, a table, a boolean).
    WrongType(&'static str),
    /// The same field given twice (under two of its names, say).
    Duplicate,
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidReason::UnknownKey => {
                f.write_str("unknown limit (known: timeout, cpu_time, memory, stack, max_output, max_jobs")?;
                f.write_str("; also timeout_ms, cpu_time_ms, memory_mb, stack_kb, max_output_bytes)")
            }
            InvalidReason::Negative(s) => write!(f, "{s:?} is negative"),
            InvalidReason::NotANumber(s) => write!(f, "{s:?} is not a number"),
            InvalidReason::TooLarge { input, max } => write!(f, "{input:?} is too large (at most {max})"),
            InvalidReason::UnknownUnit { input, expected } => {
                write!(f, "{input:?} has a unit this limit does not take (use {expected})")
            }
            InvalidReason::NotPositive(s) => write!(f, "{s:?} must be positive"),
            InvalidReason::NotWhole(s) => write!(f, "{s:?} is not a whole number"),
            InvalidReason::TooLong(n) => write!(f, "a value of {n} characters is too long (at most {MAX_LIMIT_TEXT})"),
            InvalidReason::WrongType(got) => write!(f, "expected a number or text with a unit, got {got}"),
            InvalidReason::Duplicate => f.write_str("given twice"),
        }
    }
}

impl Limits {
    /// The stack limit actually given to the engine: [`Limits::stack`] clamped to a safe range.
    pub fn effective_stack(&self) -> usize {
        self.stack.clamp(MIN_STACK, MAX_STACK)
    }

    /// The memory limit actually given to the engine: at least 1 MiB, so that a runtime can
    /// always be created.
    pub fn effective_memory(&self) -> usize {
        self.memory.max(1024 * 1024)
    }

    /// The value of one field.
    pub fn get(&self, field: LimitField) -> LimitValue {
        match field {
            LimitField::Timeout => LimitValue::Time(self.timeout),
            LimitField::CpuTime => LimitValue::Time(self.cpu_time),
            LimitField::Memory => LimitValue::Bytes(self.memory),
            LimitField::Stack => LimitValue::Bytes(self.stack),
            LimitField::MaxOutput => LimitValue::Bytes(self.max_output),
            LimitField::MaxJobs => LimitValue::Count(self.max_jobs),
        }
    }

    /// Sets one field to a value of its kind, as [`parse_limit`] and [`Limits::get`] give
    /// them. Returns false (and changes nothing) for a value of another kind (a size for a
    /// time limit, say).
    pub fn set_value(&mut self, field: LimitField, value: LimitValue) -> bool {
        match (field, value) {
            (LimitField::Timeout, LimitValue::Time(t)) => self.timeout = t,
            (LimitField::CpuTime, LimitValue::Time(t)) => self.cpu_time = t,
            (LimitField::Memory, LimitValue::Bytes(b)) => self.memory = b,
            (LimitField::Stack, LimitValue::Bytes(b)) => self.stack = b,
            (LimitField::MaxOutput, LimitValue::Bytes(b)) => self.max_output = b,
            (LimitField::MaxJobs, LimitValue::Count(n)) => self.max_jobs = n,
            _ => return false,
        }
        true
    }

    /// Sets the field `key` names (a canonical key or an older one, see [`Limits`]) from a
    /// value as a user wrote it, and returns the field.
    ///
    /// # Errors
    /// [`InvalidLimit`] naming `key`, as [`parse_limit`]; the limits are then unchanged.
    pub fn set(&mut self, key: &str, value: LimitInput<'_>) -> Result<LimitField, InvalidLimit> {
        let (field, v) = parse_limit(key, value)?;
        self.set_value(field, v);
        Ok(field)
    }

    /// Checks that every field is at most `max`'s (no time limit is more than any time
    /// limit). This is the *refuse* policy: the HTTP service and the plugin host use it, so
    /// a request over its maximum fails with the field named instead of silently getting
    /// less than it asked for.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sandvm::{LimitField, Limits};
    /// let max = Limits { timeout: Some(Duration::from_secs(2)), ..Limits::default() };
    /// let asked = Limits { timeout: Some(Duration::from_secs(5)), ..Limits::default() };
    /// let err = asked.within(&max).unwrap_err();
    /// assert_eq!(err.field, LimitField::Timeout);
    /// assert_eq!(err.to_string(), "timeout 5s is above the maximum of 2s");
    /// assert!(Limits::default().within(&max).is_ok());
    /// ```
    ///
    /// # Errors
    /// [`LimitExceeded`] for the first field over its maximum.
    pub fn within(&self, max: &Limits) -> Result<(), LimitExceeded> {
        for field in LimitField::ALL {
            let (requested, limit) = (self.get(field), max.get(field));
            let over = match (requested, limit) {
                (LimitValue::Time(_), LimitValue::Time(None)) => false,
                (LimitValue::Time(None), LimitValue::Time(Some(_))) => true,
                (LimitValue::Time(Some(a)), LimitValue::Time(Some(m))) => a > m,
                (LimitValue::Bytes(a), LimitValue::Bytes(m)) => a > m,
                (LimitValue::Count(a), LimitValue::Count(m)) => a > m,
                _ => false,
            };
            if over {
                return Err(LimitExceeded { field, requested, max: limit });
            }
        }
        Ok(())
    }

    /// These limits lowered field by field to at most `max`'s (no time limit becomes
    /// `max`'s). This is the *clamp* policy: the worker pool uses it for a job's limits
    /// against its tenant's maxima, and the test runner for a test's own timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sandvm::Limits;
    /// let max = Limits { timeout: Some(Duration::from_secs(2)), memory: 8 << 20, ..Limits::default() };
    /// let asked = Limits { timeout: None, ..Limits::default() };
    /// let got = asked.clamp_to(&max);
    /// assert_eq!((got.timeout, got.memory), (Some(Duration::from_secs(2)), 8 << 20));
    /// assert!(got.within(&max).is_ok());
    /// ```
    pub fn clamp_to(&self, max: &Limits) -> Limits {
        let time = |a: Option<Duration>, m: Option<Duration>| match (a, m) {
            (Some(a), Some(m)) => Some(a.min(m)),
            (None, m) => m,
            (a, None) => a,
        };
        Limits {
            timeout: time(self.timeout, max.timeout),
            cpu_time: time(self.cpu_time, max.cpu_time),
            memory: self.memory.min(max.memory),
            stack: self.stack.min(max.stack),
            max_output: self.max_output.min(max.max_output),
            max_jobs: self.max_jobs.min(max.max_jobs),
        }
    }
}

/// Some fields of [`Limits`], as a request or a manifest gives them: the rest comes from a
/// base chosen later ([`LimitOverrides::apply`]). With the `serde` feature it reads the
/// same keys and values as [`Limits`] and writes only the fields given.
///
/// ```
/// use sandvm::{LimitInput, LimitOverrides, Limits};
/// let mut asked = LimitOverrides::default();
/// asked.set("timeout_ms", LimitInput::Unsigned(250))?;
/// let l = asked.apply(&Limits::default());
/// assert_eq!(l.timeout, Some(std::time::Duration::from_millis(250)));
/// assert_eq!(l.memory, Limits::default().memory);
/// # Ok::<(), sandvm::InvalidLimit>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    values: Vec<(LimitField, LimitValue)>,
}

impl LimitOverrides {
    /// Nothing given.
    pub fn new() -> LimitOverrides {
        LimitOverrides::default()
    }

    /// Every field of `limits`.
    pub fn all_of(limits: &Limits) -> LimitOverrides {
        LimitOverrides { values: LimitField::ALL.iter().map(|&f| (f, limits.get(f))).collect() }
    }

    /// Gives the field `key` names from a value as a user wrote it, and returns the field.
    ///
    /// # Errors
    /// [`InvalidLimit`] as [`parse_limit`], or [`InvalidReason::Duplicate`] when the field
    /// was already given (under this name or another).
    pub fn set(&mut self, key: &str, value: LimitInput<'_>) -> Result<LimitField, InvalidLimit> {
        let (field, v) = parse_limit(key, value)?;
        if self.get(field).is_some() {
            return Err(InvalidLimit { key: units::cut(key), reason: InvalidReason::Duplicate });
        }
        self.values.push((field, v));
        self.values.sort_by_key(|(f, _)| f.index());
        Ok(field)
    }

    /// The value given for `field`, if any.
    pub fn get(&self, field: LimitField) -> Option<LimitValue> {
        self.values.iter().find(|(f, _)| *f == field).map(|(_, v)| *v)
    }

    /// The fields given, in [`LimitField::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (LimitField, LimitValue)> + '_ {
        self.values.iter().copied()
    }

    /// True when no field is given.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `base` with the fields given here replaced.
    pub fn apply(&self, base: &Limits) -> Limits {
        let mut l = base.clone();
        for &(f, v) in &self.values {
            l.set_value(f, v);
        }
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn within_names_the_first_field_over_its_maximum() {
        let max = Limits { memory: 8 * MIB, max_jobs: 10, ..Limits::default() };
        let asked = Limits { memory: 16 * MIB, max_jobs: 20, ..Limits::default() };
        let e = asked.within(&max).unwrap_err();
        assert_eq!(e.field, LimitField::Memory);
        assert_eq!(e.requested, LimitValue::Bytes(16 * MIB));
        assert_eq!(e.max, LimitValue::Bytes(8 * MIB));
        assert_eq!(e.to_string(), "memory 16 MiB is above the maximum of 8 MiB");
        let asked = Limits { max_jobs: 11, ..max.clone() };
        assert_eq!(asked.within(&max).unwrap_err().field, LimitField::MaxJobs);
        assert!(max.within(&max).is_ok());
    }

    #[test]
    fn no_time_limit_is_above_any_time_limit() {
        let max = Limits { cpu_time: Some(Duration::from_secs(1)), ..Limits::default() };
        let asked = Limits { cpu_time: None, ..max.clone() };
        let e = asked.within(&max).unwrap_err();
        assert_eq!((e.field, e.requested), (LimitField::CpuTime, LimitValue::Time(None)));
        let unlimited = Limits { timeout: None, cpu_time: None, ..Limits::default() };
        assert!(asked.within(&unlimited).is_ok());
    }

    #[test]
    fn clamp_to_gives_the_lesser_of_each_field() {
        let max = Limits {
            timeout: Some(Duration::from_secs(2)),
            cpu_time: None,
            memory: 8 * MIB,
            stack: 64 * 1024,
            max_output: 10,
            max_jobs: 5,
        };
        let asked = Limits { timeout: None, cpu_time: Some(Duration::from_millis(5)), ..Limits::default() };
        let got = asked.clamp_to(&max);
        assert_eq!(
            got,
            Limits {
                timeout: Some(Duration::from_secs(2)),
                cpu_time: Some(Duration::from_millis(5)),
                memory: 8 * MIB,
                stack: 64 * 1024,
                max_output: 10,
                max_jobs: 5,
            }
        );
        assert!(got.within(&max).is_ok());
        let small = Limits { memory: MIB, ..got.clone() };
        assert_eq!(small.clamp_to(&max).memory, MIB);
    }

    #[test]
    fn overrides_replace_only_what_was_given() {
        let mut o = LimitOverrides::new();
        assert!(o.is_empty());
        assert_eq!(o.set("memory_mb", LimitInput::Unsigned(16)), Ok(LimitField::Memory));
        assert_eq!(o.set("timeout", LimitInput::Text("none")), Ok(LimitField::Timeout));
        let e = o.set("memory", LimitInput::Text("1 MiB")).unwrap_err();
        assert_eq!(e.reason, InvalidReason::Duplicate);
        let base = Limits { max_jobs: 7, ..Limits::default() };
        let l = o.apply(&base);
        assert_eq!((l.memory, l.timeout, l.max_jobs), (16 * MIB, None, 7));
        let fields: Vec<_> = o.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, [LimitField::Timeout, LimitField::Memory]);
        assert_eq!(LimitOverrides::all_of(&base).apply(&Limits::default()), base);
    }

    #[test]
    fn a_bad_value_leaves_the_limits_unchanged() {
        let mut l = Limits::default();
        assert!(l.set("memory", LimitInput::Text("lots")).is_err());
        assert!(l.set("bogus", LimitInput::Unsigned(1)).is_err());
        assert_eq!(l, Limits::default());
    }

    #[test]
    fn values_display_in_units_parse_limit_reads_back() {
        let cases = [
            ("timeout", LimitValue::Time(Some(Duration::from_millis(1500))), "1500ms"),
            ("timeout", LimitValue::Time(Some(Duration::from_secs(2))), "2s"),
            ("cpu_time", LimitValue::Time(Some(Duration::from_nanos(1_001))), "1001ns"),
            ("cpu_time", LimitValue::Time(None), "none"),
            ("memory", LimitValue::Bytes(64 * MIB), "64 MiB"),
            ("max_output", LimitValue::Bytes(1000), "1000 B"),
            ("max_jobs", LimitValue::Count(12), "12"),
        ];
        for (key, v, text) in cases {
            assert_eq!(v.to_string(), text);
            assert_eq!(parse_limit(key, LimitInput::Text(text)).map(|(_, v)| v), Ok(v), "{text}");
        }
    }
}

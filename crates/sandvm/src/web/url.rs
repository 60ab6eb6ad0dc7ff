//! `URL` and `URLSearchParams` on the `url` crate (WHATWG URL Standard, with IDNA and IPv4/IPv6
//! host parsing). The parsed URL stays on the host; the guest sees components.

use ::url::{quirks, Url};
use rquickjs::{Array, Class, Ctx, Exception, Function, Value};

use super::{state, usv, Host};

/// The components handed to the guest, in this order (the prelude's `C` indices).
fn components<'js>(ctx: &Ctx<'js>, u: &Url) -> rquickjs::Result<Array<'js>> {
    let parts = [
        quirks::href(u).to_owned(),
        quirks::protocol(u).to_owned(),
        quirks::username(u).to_owned(),
        quirks::password(u).to_owned(),
        quirks::host(u).to_owned(),
        quirks::hostname(u).to_owned(),
        quirks::port(u).to_owned(),
        quirks::pathname(u).to_owned(),
        quirks::search(u).to_owned(),
        quirks::hash(u).to_owned(),
        quirks::origin(u),
    ];
    let arr = Array::new(ctx.clone())?;
    for (i, p) in parts.into_iter().enumerate() {
        arr.set(i, p)?;
    }
    Ok(arr)
}

/// Schemes the URL Standard calls special.
fn is_special(scheme: &str) -> bool {
    matches!(scheme, "http" | "https" | "ws" | "wss" | "ftp" | "file")
}

/// The input as the basic URL parser first sees it: leading and trailing C0 controls and
/// spaces stripped, every ASCII tab and newline removed.
fn pre_clean(input: &str) -> String {
    let t = input.trim_matches(|c: char| c <= ' ');
    t.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect()
}

/// The scheme at the start of `s` (`[A-Za-z][A-Za-z0-9+.-]*:`), lower-cased.
fn scheme_of(s: &str) -> Option<String> {
    let end = s.find(':')?;
    let sch = &s[..end];
    let mut chars = sch.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then(|| sch.to_ascii_lowercase())
}

fn starts_with_two_slashes(s: &str) -> bool {
    s.chars().take(2).filter(|c| matches!(c, '/' | '\\')).count() == 2
}

/// The Standard's newer rule for opaque paths: a space right before `?` or `#` is kept as
/// `%20` (the `url` crate still follows the older text, which strips it on some paths).
fn fix_opaque_path(u: &mut Url) {
    if !u.cannot_be_a_base() || (u.query().is_none() && u.fragment().is_none()) || !u.path().ends_with(' ') {
        return;
    }
    let (scheme, path) = (u.scheme(), u.path());
    let rest = &u.as_str()[scheme.len() + 1 + path.len()..];
    let fixed = format!("{scheme}:{}%20{rest}", &path[..path.len() - 1]);
    if let Ok(v) = Url::parse(&fixed) {
        *u = v;
    }
}

/// The WHATWG "API URL parser", on the `url` crate with the corrections listed in the module
/// docs of the tests (`tests/wpt.rs`): slashes after a special base, the host of a file base,
/// and spaces at the end of an opaque path.
fn parse_url(input: &str, base: Option<&str>) -> Option<Url> {
    let base = match base {
        Some(b) => Some(Url::parse(b).ok()?),
        None => None,
    };
    let mut clean = pre_clean(input);
    let scheme = scheme_of(&clean);
    if let Some(b) = &base {
        // "special authority ignore slashes state": any run of slashes after a relative
        // reference to a special (non-file) base names the host.
        if scheme.is_none() && is_special(b.scheme()) && b.scheme() != "file" {
            let n = clean.chars().take_while(|c| matches!(c, '/' | '\\')).count();
            if n > 2 {
                clean = format!("//{}", &clean[n..]);
            }
        }
    }
    let mut u = match &base {
        Some(b) => b.join(&clean).ok()?,
        None => Url::parse(&clean).ok()?,
    };
    if let Some(b) = &base {
        // "file state": without an authority of its own, a file URL keeps its base's host.
        let base_host = b.host_str().filter(|h| !h.is_empty());
        let rest = match scheme.as_deref() {
            None => Some(clean.as_str()),
            Some("file") => Some(&clean[5..]),
            Some(_) => None,
        };
        if let (Some(h), Some(rest)) = (base_host, rest) {
            if u.scheme() == "file"
                && b.scheme() == "file"
                && u.host_str().is_none_or(str::is_empty)
                && !starts_with_two_slashes(rest)
            {
                let _ = u.set_host(Some(h));
            }
        }
    }
    fix_opaque_path(&mut u);
    Some(u)
}

/// `parse(input, base?)`: `[state, components]`, or `null` when the input (or base) is not a URL.
fn parse<'js>(ctx: Ctx<'js>, input: Value<'js>, base: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let input = usv(&ctx, &input);
    let base = if base.is_undefined() { None } else { Some(usv(&ctx, &base)) };
    let Some(u) = parse_url(&input, base.as_deref()) else { return Ok(Value::new_null(ctx)) };
    let comps = components(&ctx, &u)?;
    let out = Array::new(ctx.clone())?;
    out.set(0, Class::instance(ctx.clone(), Host(u))?)?;
    out.set(1, comps)?;
    Ok(out.into_value())
}

/// `set(state, which, value)`: runs the WHATWG setter `which` (the component index) and returns
/// the new components. Only `href` can fail (a `TypeError`); the others ignore bad values.
fn set<'js>(ctx: Ctx<'js>, st: Value<'js>, which: u32, value: Value<'js>) -> rquickjs::Result<Array<'js>> {
    let st = state::<Url>(&ctx, &st)?;
    let value = usv(&ctx, &value);
    let mut cell = st.try_borrow_mut().map_err(|_| Exception::throw_type(&ctx, "URL is busy"))?;
    let u = &mut cell.0;
    match which {
        0 => match parse_url(&value, None) {
            Some(v) => *u = v,
            None => return Err(Exception::throw_type(&ctx, &format!("Invalid URL: {value}"))),
        },
        1 => drop(quirks::set_protocol(u, &value)),
        2 => drop(quirks::set_username(u, &value)),
        3 => drop(quirks::set_password(u, &value)),
        4 => drop(quirks::set_host(u, &value)),
        5 => drop(quirks::set_hostname(u, &value)),
        // A value that is only tabs and newlines leaves the port alone.
        6 if !value.is_empty() && pre_clean(&value).is_empty() => {}
        6 => drop(quirks::set_port(u, &value)),
        7 => quirks::set_pathname(u, &value),
        8 => quirks::set_search(u, &value),
        9 => quirks::set_hash(u, &value),
        _ => return Err(Exception::throw_type(&ctx, "unknown URL component")),
    }
    fix_opaque_path(u);
    components(&ctx, u)
}

/// `formParse(query)`: the name/value list of an `application/x-www-form-urlencoded` string
/// (a leading `?` is skipped), flattened `[name0, value0, name1, ...]`.
fn form_parse<'js>(ctx: Ctx<'js>, query: Value<'js>) -> rquickjs::Result<Array<'js>> {
    let q = usv(&ctx, &query);
    let q = q.strip_prefix('?').unwrap_or(&q);
    let out = Array::new(ctx.clone())?;
    let mut i = 0;
    for (k, v) in ::url::form_urlencoded::parse(q.as_bytes()) {
        out.set(i, k.as_ref())?;
        out.set(i + 1, v.as_ref())?;
        i += 2;
    }
    Ok(out)
}

/// `formSerialize(flat)`: the `application/x-www-form-urlencoded` serialization of a flattened
/// name/value list.
fn form_serialize<'js>(ctx: Ctx<'js>, flat: Array<'js>) -> rquickjs::Result<String> {
    let mut ser = ::url::form_urlencoded::Serializer::new(String::new());
    let n = flat.len();
    let mut i = 0;
    while i + 1 < n {
        let k: Value = flat.get(i)?;
        let v: Value = flat.get(i + 1)?;
        ser.append_pair(&usv(&ctx, &k), &usv(&ctx, &v));
        i += 2;
    }
    Ok(ser.finish())
}

/// `(parse, set, formParse, formSerialize)`.
type HostFns<'js> = (Function<'js>, Function<'js>, Function<'js>, Function<'js>);

/// The host functions the URL prelude receives: `(parse, set, formParse, formSerialize)`.
pub(crate) fn host_functions<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<HostFns<'js>> {
    Ok((
        Function::new(ctx.clone(), parse)?,
        Function::new(ctx.clone(), set)?,
        Function::new(ctx.clone(), form_parse)?,
        Function::new(ctx.clone(), form_serialize)?,
    ))
}

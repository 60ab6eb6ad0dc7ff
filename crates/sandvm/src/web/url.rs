//! `URL` and `URLSearchParams` on the `url` crate (WHATWG URL Standard, with IDNA and IPv4/IPv6
//! host parsing). The parsed URL stays on the host; the guest sees components.

use ::url::{quirks, Position, Url};
use rquickjs::{Array, Class, Ctx, Exception, Function, Value};

use super::{state, usv, Host};

/// A parsed URL as the guest sees it: the `url` crate's [`Url`] and `lead`, the number of
/// leading empty path segments of a `file:` URL that the Standard keeps and the crate drops
/// (the crate still follows the Standard's old text, which trimmed them: `file:////foo` has
/// the path `//foo`, the crate makes it `/foo`). A [`Url`] cannot hold such a path, so the
/// slashes are added back in the components.
pub(crate) struct UrlState {
    url: Url,
    lead: usize,
}

/// `href` and `pathname` of `u` with `lead` more slashes at the start of the path.
fn with_lead(u: &Url, lead: usize) -> Option<(String, String)> {
    let prefix = &u[..Position::BeforePath];
    let rest = &u[Position::BeforePath..];
    let slashes = "/".repeat(lead);
    Some((format!("{prefix}{slashes}{rest}"), format!("{slashes}{}", quirks::pathname(u))))
}

/// The components handed to the guest, in this order (the prelude's `C` indices).
fn components<'js>(ctx: &Ctx<'js>, st: &UrlState) -> rquickjs::Result<Array<'js>> {
    let u = &st.url;
    let (href, pathname) = match with_lead(u, st.lead).filter(|_| st.lead > 0) {
        Some(hp) => hp,
        None => (quirks::href(u).to_owned(), quirks::pathname(u).to_owned()),
    };
    let parts = [
        href,
        quirks::protocol(u).to_owned(),
        quirks::username(u).to_owned(),
        quirks::password(u).to_owned(),
        quirks::host(u).to_owned(),
        quirks::hostname(u).to_owned(),
        quirks::port(u).to_owned(),
        pathname,
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

fn is_path_slash(c: char) -> bool {
    matches!(c, '/' | '\\')
}

/// A Windows drive letter (`C:`, `c|`) at the start of `s` (the file-path rules the crate
/// gets right and this module leaves alone).
fn drive_letter_start(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphabetic()
        && matches!(b[1], b':' | b'|')
        && (b.len() == 2 || matches!(b[2], b'/' | b'\\' | b'?' | b'#'))
}

/// The Standard's "path state" for a special URL over `input` (already past the path start),
/// from the path `list`: the resulting segments (not percent-encoded: only their number and
/// emptiness matter here). `None` when a Windows drive letter is involved.
fn spec_path_state(input: &str, mut list: Vec<String>) -> Option<Vec<String>> {
    let segs: Vec<&str> = input.split(is_path_slash).collect();
    let last = segs.len() - 1;
    for (i, seg) in segs.iter().enumerate() {
        let at_end = i == last;
        let lower = seg.to_ascii_lowercase();
        if drive_letter_start(seg) {
            return None;
        }
        if matches!(lower.as_str(), ".." | ".%2e" | "%2e." | "%2e%2e") {
            list.pop();
            if at_end {
                list.push(String::new());
            }
        } else if matches!(lower.as_str(), "." | "%2e") {
            if at_end {
                list.push(String::new());
            }
        } else {
            list.push((*seg).to_string());
        }
    }
    Some(list)
}

/// The path (segments) the Standard gives a `file:` URL parsed from `clean` (pre-cleaned)
/// against `base`, or `None` when this module does not correct the crate's answer (not a
/// `file:` URL, a Windows drive letter, a base that is not `file:`).
fn spec_file_path(clean: &str, base: Option<&str>) -> Option<Vec<String>> {
    let (rest, base) = match scheme_of(clean).as_deref() {
        Some("file") => (&clean[5..], base),
        Some(_) => return None,
        None => (clean, Some(base?)),
    };
    let base = match base {
        Some(b) if scheme_of(&pre_clean(b)).as_deref() == Some("file") => Some(pre_clean(b)),
        _ => None,
    };
    let p = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    if starts_with_two_slashes(p) {
        // File host state: the host runs to the next slash; the path starts there.
        let after = &p[2..];
        if drive_letter_start(after) {
            return None;
        }
        let path = &after[after.find(is_path_slash).unwrap_or(after.len())..];
        return spec_path_state(path.get(1..).unwrap_or(""), Vec::new());
    }
    if p.starts_with(is_path_slash) {
        // File slash state (a base's drive letter would be copied: left to the crate).
        if base
            .as_deref()
            .and_then(|b| spec_file_path(b, None))
            .is_some_and(|bp| bp.first().is_some_and(|s| drive_letter_start(s)))
        {
            return None;
        }
        return spec_path_state(&p[1..], Vec::new());
    }
    match base {
        None => spec_path_state(p, Vec::new()),
        Some(b) => {
            let mut list = spec_file_path(&b, None)?;
            if p.is_empty() {
                return Some(list);
            }
            if drive_letter_start(p) {
                return None;
            }
            list.pop();
            spec_path_state(p, list)
        }
    }
}

/// How many leading slashes the Standard's path `spec` has beyond the crate's `path`, when
/// both agree on the rest (the same number of non-empty-led segments); else 0.
fn lead_of(spec: &[String], path: &str) -> usize {
    let spec_path = format!("/{}", spec.join("/"));
    let (a, b) = (spec_path.trim_start_matches('/'), path.trim_start_matches('/'));
    if a.split('/').count() != b.split('/').count() {
        return 0;
    }
    (spec_path.len() - a.len()).saturating_sub(path.len() - b.len())
}

/// The WHATWG "API URL parser", on the `url` crate with the corrections listed in the module
/// docs of the tests (`tests/wpt.rs`): slashes after a special base, the host of a file base,
/// and spaces at the end of an opaque path.
fn parse_url(input: &str, base: Option<&str>) -> Option<UrlState> {
    let base_text = base;
    let base = match base {
        Some(b) => Some(Url::parse(b).ok()?),
        None => None,
    };
    let mut clean = pre_clean(input);
    let scheme = scheme_of(&clean);
    if scheme.as_deref() == Some("file") {
        // Path state: a Windows drive letter as the first segment of an empty path becomes
        // `X:` (`file:///w|/m` is `file:///w:/m`); the crate keeps the `|` after an empty host.
        let rest = &clean[5..];
        let lead = rest.chars().take_while(|c| is_path_slash(*c)).count();
        if lead == 3 && drive_letter_start(&rest[3..]) && rest.as_bytes().get(4) == Some(&b'|') {
            clean.replace_range(9..10, ":");
        }
    }
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
    let lead = if u.scheme() == "file" {
        spec_file_path(&clean, base_text).map(|sp| lead_of(&sp, u.path())).unwrap_or(0)
    } else {
        0
    };
    Some(UrlState { url: u, lead })
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
    let st = state::<UrlState>(&ctx, &st)?;
    let value = usv(&ctx, &value);
    let mut cell = st.try_borrow_mut().map_err(|_| Exception::throw_type(&ctx, "URL is busy"))?;
    let state = &mut cell.0;
    if which == 0 {
        match parse_url(&value, None) {
            Some(v) => *state = v,
            None => return Err(Exception::throw_type(&ctx, &format!("Invalid URL: {value}"))),
        }
        return components(&ctx, state);
    }
    let u = &mut state.url;
    // A non-special URL without a host whose path is not opaque: its path setter goes through
    // `set_non_special_path` (the crate serializes a path starting with an empty segment as
    // a host).
    let hostless = !is_special(u.scheme()) && u.host().is_none() && !u.cannot_be_a_base();
    if which == 7 && hostless {
        if let Some(v) = set_non_special_path(u, &value) {
            *u = v;
            return components(&ctx, state);
        }
    }
    match which {
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
    if hostless && matches!(which, 4 | 5) && u.has_authority() {
        // A host was added: the `/.` that kept `//p` from reading as a host must go (the
        // crate keeps it, before or inside what it calls the path).
        let (head, path) = (&u[..Position::BeforePath], &u[Position::BeforePath..]);
        let fixed = match (head.strip_suffix("/."), path.strip_prefix("/.//")) {
            (Some(h), _) if path.starts_with("//") => Some(format!("{h}{path}")),
            (_, Some(rest)) => Some(format!("{head}//{rest}")),
            _ => None,
        };
        if let Some(v) = fixed.and_then(|f| Url::parse(&f).ok()) {
            *u = v;
        }
    }
    if which == 7 && !is_special(u.scheme()) && u.has_authority() && value.is_empty() && u.path() == "/" {
        // An empty path stays empty after an authority (`foo://`); the crate keeps a `/`.
        let href = format!("{}{}", &u[..Position::BeforePath], &u[Position::AfterPath..]);
        if let Some(v) = Url::parse(&href).ok().filter(|v| v.path().is_empty()) {
            *u = v;
        }
    }
    if which == 7 && u.scheme() == "file" {
        // The pathname setter: path start state over the value (tabs and newlines removed).
        let v: String = value.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
        let input = v.strip_prefix(is_path_slash).unwrap_or(&v);
        state.lead = spec_path_state(input, Vec::new()).map(|sp| lead_of(&sp, state.url.path())).unwrap_or(0);
    } else if state.lead > 0 && state.url.scheme() != "file" {
        // Now another special scheme, which the crate lets keep empty segments: re-parse.
        if let Some(v) = with_lead(&state.url, state.lead).and_then(|(h, _)| Url::parse(&h).ok()) {
            state.url = v;
        }
        state.lead = 0;
    }
    components(&ctx, state)
}

/// The pathname setter on a non-special URL without a host (`non-spec:/`): the path is
/// worked out by the crate on a stand-in with a host, then serialized as the Standard does,
/// with `/.` before a path that starts with an empty segment (`non-spec:/.//p`). `None` when
/// the stand-in cannot be built (the crate's own setter is used then).
fn set_non_special_path(u: &Url, value: &str) -> Option<Url> {
    let mut stand_in = Url::parse(&format!("{}://h/", u.scheme())).ok()?;
    quirks::set_pathname(&mut stand_in, value);
    let path = stand_in.path();
    if path.is_empty() {
        return None;
    }
    let dot = if path.starts_with("//") { "/." } else { "" };
    let href = format!("{}:{dot}{path}{}", u.scheme(), &u[Position::AfterPath..]);
    Url::parse(&href).ok().filter(|v| v.host().is_none() && quirks::pathname(v) == path)
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

// Scorer (written for sandvm) of url/url-constructor.any.js and url/url-origin.any.js on
// urltestdata.json (given as DATA): one case per entry. Run by tests/wpt.rs in sandvm and by
// scripts/compat-figures.js in Node; ends with [passed, total, failures].
(() => {
  let pass = 0, total = 0; const fails = [];
  const attrs = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];
  for (const t of DATA) {
    if (typeof t === 'string') continue;
    total++;
    let ok = true, why = '';
    try {
      const u = t.base === null ? new URL(t.input) : new URL(t.input, t.base);
      if (t.failure) { ok = false; why = 'parsed: ' + u.href; }
      else {
        for (const a of attrs) if (u[a] !== t[a]) { ok = false; why = a + ': ' + u[a] + ' != ' + t[a]; break; }
        if (ok && 'origin' in t && u.origin !== t.origin) { ok = false; why = 'origin: ' + u.origin; }
      }
    } catch (e) {
      ok = !!t.failure && e instanceof TypeError;
      why = String(e);
    }
    if (ok) pass++; else fails.push(JSON.stringify(t.input) + (t.base === null ? '' : ' against ' + JSON.stringify(t.base)) + ' ' + why);
  }
  return [pass, total, fails];
})()

// Scorer (written for sandvm) of url/url-setters.any.js on setters_tests.json (given as DATA).
// Ends with [passed, total, failures].
(() => {
  let pass = 0, total = 0; const fails = [];
  for (const setter of Object.keys(DATA)) {
    if (setter === 'comment') continue;
    for (const t of DATA[setter]) {
      total++;
      let ok = true, why = '';
      try {
        const u = new URL(t.href);
        u[setter] = t.new_value;
        for (const a of Object.keys(t.expected)) if (u[a] !== t.expected[a]) { ok = false; why = a + ': ' + u[a] + ' != ' + t.expected[a]; break; }
      } catch (e) { ok = false; why = String(e); }
      if (ok) pass++; else fails.push(setter + ' ' + JSON.stringify(t.href) + ' <- ' + JSON.stringify(t.new_value) + ' ' + why);
    }
  }
  return [pass, total, fails];
})()

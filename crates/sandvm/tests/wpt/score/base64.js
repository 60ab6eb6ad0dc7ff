// Scorer (written for sandvm) of atob/btoa. atob: every entry of
// fetch/data-urls/resources/base64.json (given as DATA; what html/webappapis/atob/base64.any.js
// checks: the code units, or an InvalidCharacterError DOMException for null) and atob() without
// an argument (TypeError). btoa: every code unit 0..300 alone, all of 0..255 together, binary
// and WebIDL-converted inputs against a reference encoder, and InvalidCharacterError above
// U+00FF. Ends with [passed, total, failures].
(() => {
  let pass = 0, total = 0; const fails = [];
  const check = (name, fn) => {
    total++;
    try { const why = fn(); if (why) fails.push(name + ': ' + why); else pass++; }
    catch (e) { fails.push(name + ': threw ' + (e && e.name) + ' ' + (e && e.message)); }
  };
  const invalid = (f) => {
    try { f(); } catch (e) { return e instanceof DOMException && e.name === 'InvalidCharacterError' ? '' : 'threw ' + (e && e.name); }
    return 'did not throw';
  };
  for (const [input, output] of DATA) {
    check('atob(' + JSON.stringify(input) + ')', () => {
      if (output === null) return invalid(() => atob(input));
      const got = atob(input);
      const units = Array.from(got, (c) => c.charCodeAt(0));
      return units.length === output.length && units.every((u, i) => u === output[i]) ? '' : 'got ' + JSON.stringify(units);
    });
  }
  check('atob()', () => { try { atob(); } catch (e) { return e instanceof TypeError ? '' : 'threw ' + e.name; } return 'did not throw'; });
  check('btoa()', () => { try { btoa(); } catch (e) { return e instanceof TypeError ? '' : 'threw ' + e.name; } return 'did not throw'; });
  // The Standard's forgiving-base64 encode, on code units 0..255.
  const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const ref = (s) => {
    let out = '';
    for (let i = 0; i < s.length; i += 3) {
      const n = s.length - i;
      const b = (s.charCodeAt(i) << 16) | ((n > 1 ? s.charCodeAt(i + 1) : 0) << 8) | (n > 2 ? s.charCodeAt(i + 2) : 0);
      out += ALPHA[(b >> 18) & 63] + ALPHA[(b >> 12) & 63] + (n > 1 ? ALPHA[(b >> 6) & 63] : '=') + (n > 2 ? ALPHA[b & 63] : '=');
    }
    return out;
  };
  const inputs = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', '\xff\xff\xc0', '\0', '\0a', 'a\0b'];
  for (let i = 0; i <= 300; i++) inputs.push(String.fromCharCode(i));
  inputs.push('\u2710', '\ufffe', '\uffff', '\ud800\udc00', 'עברית');
  let all = ''; for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
  inputs.push(all);
  for (const s of inputs) {
    check('btoa(' + JSON.stringify(s.length > 20 ? s.slice(0, 20) + '...' : s) + ')', () => {
      if (/[^\0-\xff]/.test(s)) return invalid(() => btoa(s));
      const got = btoa(s);
      if (got !== ref(s)) return 'got ' + got;
      return atob(got) === s ? '' : 'atob(btoa(s)) differs';
    });
  }
  // WebIDL conversions (ToString) of the argument.
  for (const v of [undefined, null, 7, 12, 1.5, true, false, NaN, Infinity, -Infinity, 0, -0, { toString() { return 'foo'; } }]) {
    check('btoa(' + String(v) + ')', () => (btoa(v) === ref(String(v)) ? '' : 'got ' + btoa(v)));
    check('atob(' + String(v) + ')', () => {
      const s = String(v);
      let want;
      try { want = atob(s); } catch (e) { return invalid(() => atob(v)); }
      return atob(v) === want ? '' : 'differs from atob(String(v))';
    });
  }
  return [pass, total, fails];
})()

// Helpers for page.hbs. This file runs inside the sandbox: it cannot reach the host.
// Both forms are supported: Handlebars.registerHelper(...) calls, and an object of helpers
// as the script's completion value (or module.exports).
Handlebars.registerHelper('eq', function (a, b) {
  return a === b;
});

Handlebars.registerHelper('money', function (cents) {
  var n = Number(cents) || 0;
  return '$' + (n / 100).toFixed(2);
});

({
  percent: function (x) {
    return Math.round(x * 100) + '%';
  },
  sum: function (products) {
    return products.reduce(function (acc, p) { return acc + p.price; }, 0);
  },
  pluralize: function (n, word) {
    return new Handlebars.SafeString(n + ' ' + Handlebars.escapeExpression(word) + (n === 1 ? '' : 's'));
  },
});

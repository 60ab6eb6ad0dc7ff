// The same benchmark as crates/sandvm-template/examples/bench.rs, on handlebars.js.
// Usage: node bench-handlebars.js HANDLEBARS_MODULE_DIR [ITERATIONS]
const Handlebars = require(process.argv[2] || 'handlebars');
const iterations = Number(process.argv[3] || 5000);
let t = '<section class="profile">\n';
const data = {};
for (let i = 0; i < 50; i++) {
  t += `<p>Field ${i}: {{#if f${i}}}<b>{{f${i}}}</b>{{/if}}</p>\n`;
  data['f' + i] = `value <${i}> & more`;
}
t += '</section>\n';
const render = Handlebars.compile(t);
for (let i = 0; i < 200; i++) render(data);
const start = process.hrtime.bigint();
let bytes = 0;
for (let i = 0; i < iterations; i++) bytes += render(data).length;
const secs = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ engine: 'handlebars.js ' + Handlebars.VERSION + ' on node ' + process.version, template_bytes: t.length, fields: 50, iterations, renders_per_sec: Math.round(iterations / secs), output_bytes: Math.round(bytes / iterations) }));

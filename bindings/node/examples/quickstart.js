// The README's 10-line example (run in CI by test.sh).
const { Sandbox } = require('sandvm');

const sandbox = new Sandbox({ timeout: 100, memoryLimit: 16 });
sandbox.setGlobal('order', { items: [3, 4], placed: new Date(0) });
sandbox.expose('price', async (n) => n * 2.5); // async host function, awaited by the guest
(async () => {
  console.log(await sandbox.run('Promise.all(order.items.map(price)).then((p) => p.reduce((a, b) => a + b))')); // 17.5
  await sandbox.run('for (;;) {}').catch((e) => console.log(e.kind)); // timeout
  sandbox.dispose();
})();

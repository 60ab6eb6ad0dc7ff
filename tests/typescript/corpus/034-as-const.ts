const dirs = ["n", "s"] as const;
const cfg = { mode: "fast", retries: 3 } as const;
console.log(dirs.join(), cfg.mode);
cfg.retries

let ready!: boolean;
function init() { ready = true; }
init();
class C { value!: number; constructor() { this.value = 9; } }
console.log(ready, new C().value);
ready

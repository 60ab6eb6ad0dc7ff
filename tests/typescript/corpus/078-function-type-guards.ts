interface Fish { swim(): string }
interface Bird { fly(): string }
function isFish(p: Fish | Bird): p is Fish { return "swim" in p; }
const pets: (Fish | Bird)[] = [{ swim: () => "s" }, { fly: () => "f" }];
console.log(pets.map((p) => (isFish(p) ? p.swim() : p.fly())).join());
pets.filter(isFish).length

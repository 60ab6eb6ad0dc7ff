const v: any = "123";
const n = (<string>v).length;
console.log(n);
n

class Account {
  private balance = 0;
  protected owner: string;
  public constructor(owner: string) { this.owner = owner; }
  deposit(n: number): number { this.balance += n; return this.balance; }
}
const a = new Account("ada");
a.deposit(10);
console.log(a.deposit(5));
a.deposit(0)

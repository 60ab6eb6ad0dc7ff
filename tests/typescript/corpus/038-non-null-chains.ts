interface Node_ { next?: Node_; v: number }
const list: Node_ = { v: 1, next: { v: 2, next: { v: 3 } } };
console.log(list.next!.next!.v, list.next?.next?.next?.v);
list.next!.v

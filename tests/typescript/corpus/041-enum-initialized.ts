enum Status { Ok = 200, NotFound = 404, Next }
console.log(Status.Ok, Status.Next, Status[404]);
Status.Next

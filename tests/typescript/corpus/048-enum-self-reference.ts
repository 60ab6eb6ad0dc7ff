enum Size { Small = 1, Medium = Small * 2, Large = Medium * 2 }
console.log(Size.Small, Size.Medium, Size.Large);
Size.Large

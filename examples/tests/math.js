export const add = (a, b) => a + b;
export const divide = (a, b) => {
  if (b === 0) throw new RangeError('division by zero');
  return a / b;
};
export const later = (v, ms = 5) => new Promise((resolve) => setTimeout(() => resolve(v), ms));

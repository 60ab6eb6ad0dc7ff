import { add, divide, later } from './math.js';

describe('add', () => {
  test('adds numbers', () => {
    expect(add(1, 2)).toBe(3);
    expect(add(0.1, 0.2)).toBeCloseTo(0.3);
    expect(add(1, 1)).not.toBe(3);
  });
  it('concatenates strings', () => {
    expect(add('a', 'b')).toMatch(/^ab$/);
  });
});

describe('divide', () => {
  test('divides', () => expect(divide(6, 3)).toBe(2));
  test('throws on zero', () => {
    expect(() => divide(1, 0)).toThrow(RangeError);
    expect(() => divide(1, 0)).toThrow('by zero');
  });
});

describe('async', () => {
  test('awaits a timer', async () => {
    expect(await later(42)).toBe(42);
  });
  test('resolves and rejects', async () => {
    await expect(later('x')).resolves.toBe('x');
    await expect(Promise.reject(new Error('nope'))).rejects.toThrow('nope');
  });
  test('done callback', (done) => {
    setTimeout(() => done(), 1);
  });
});

describe('matchers', () => {
  const user = { name: 'Ada', langs: ['en', 'fr'], meta: { joined: 1843 } };

  test('equality', () => {
    expect(user).toEqual({ name: 'Ada', langs: ['en', 'fr'], meta: { joined: 1843 } });
    expect({ a: 1, b: undefined }).toEqual({ a: 1 });
    expect({ a: 1, b: undefined }).not.toStrictEqual({ a: 1 });
    expect(user).toMatchObject({ meta: { joined: 1843 } });
    expect(user).toEqual(expect.objectContaining({ name: expect.any(String) }));
  });

  test('truthiness', () => {
    expect(1).toBeTruthy();
    expect('').toBeFalsy();
    expect(null).toBeNull();
    expect(undefined).toBeUndefined();
    expect(0).toBeDefined();
    expect(NaN).toBeNaN();
  });

  test('collections and strings', () => {
    expect(user.langs).toContain('fr');
    expect(user.langs).toHaveLength(2);
    expect([{ x: 1 }]).toContainEqual({ x: 1 });
    expect('sandbox').toContain('box');
    expect(user).toHaveProperty('meta.joined', 1843);
  });

  test('numbers', () => {
    expect(10).toBeGreaterThan(9);
    expect(10).toBeGreaterThanOrEqual(10);
    expect(1).toBeLessThan(2);
    expect(2).toBeLessThanOrEqual(2);
    expect(new Date(0)).toBeInstanceOf(Date);
  });

  test.todo('more matchers');
});

export const greeting = (name) => `Welcome, ${name}!`;

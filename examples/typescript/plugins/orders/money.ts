export interface Line {
  sku: string;
  cents: number;
}

export const total = (lines: readonly Line[]): number => lines.reduce((sum, l) => sum + l.cents, 0);

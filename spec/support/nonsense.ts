/**
 * Values no option or argument of lifeline takes, among them some that a careless `${value}` or
 * `String(value)` throws on, each with what it is: for specs that check every entry point refuses
 * them with its own clear TypeError.
 */
export const NONSENSE: readonly (readonly [string, unknown])[] = [
  ['an object without a prototype', Object.create(null)],
  ['a symbol', Symbol('nonsense')],
  [
    'an object whose toString throws',
    {
      toString: () => {
        throw new Error('no');
      },
    },
  ],
  ['a negative fraction', -7.5],
];

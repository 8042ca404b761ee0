// Regenerates snakecase_vectors.json: random strings converted with the regular
// expression documented in docs/wire-format.md, evaluated by a JavaScript engine (the oracle
// for wire.SnakeCase). Run: node snakecase_oracle.js > snakecase_vectors.json
'use strict';
const re = /[A-Z]{2,}(?=[A-Z][a-z]+[0-9]*|\b)|[A-Z]?[a-z]+[0-9]*|[A-Z]|[0-9]+/g;
const snake = s => s.match(re)?.map(x => x.toLowerCase()).join('_') ?? s;
const alphabet = ['a', 'b', 'z', 'A', 'B', 'Z', '0', '1', '9', '_', '-', '.', ' ', '*', 'é', 'Ä'];
let seed = 20261125;
const rnd = n => { seed = (seed * 1103515245 + 12345) % 2147483648; return Math.floor(seed / 65536) % n; };
const cases = [];
for (let i = 0; i < 3000; i++) {
  let s = '';
  const len = rnd(12);
  for (let j = 0; j < len; j++) s += alphabet[rnd(alphabet.length)];
  cases.push([s, snake(s)]);
}
process.stdout.write(JSON.stringify(cases) + '\n');

import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';

/** The repository's root, from dist/test/unit. */
const root = path.resolve(__dirname, '../../..');

t.test('docs/api.md stands alone: it points at no document outside the repository', async (t) => {
  const text = fs.readFileSync(path.join(root, 'docs/api.md'), 'utf8');
  const outside = [/\.\.\//, /\bspec\//, /rest-api(-extensions)?\.md/, /product\.md/, /\bGAP-\d+/, /\bL\d{3,5}\b/, /§/];
  t.same(outside.filter((re) => re.test(text)).map(String), []);
});

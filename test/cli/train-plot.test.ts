/** plot.svg: well-formed XML (checked by a small parser here, and by python's xml.etree when present), sane content. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { escapeXml, niceTicks, renderTrainingPlot } from '../../src/cli/plot.js';

/** Minimal well-formedness check: balanced tags, quoted attributes, no stray '<' or '&'. Returns the element names. */
function parseXml(s: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    m = re.exec(s);
    if (!m) throw new Error(`not well-formed at ${pos}: ${JSON.stringify(s.slice(pos, pos + 40))}`);
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[5])) throw new Error(`bare & in text: ${m[5]}`);
      continue;
    }
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else {
      names.push(name);
      if (!selfClose) stack.push(name);
    }
  }
  if (stack.length) throw new Error(`unclosed: ${stack.join(', ')}`);
  return names;
}

const points = Array.from({ length: 200 }, (_, i) => ({ step: i + 1, loss: 2.3 * Math.exp(-i / 40) + 0.05 * Math.sin(i), lr: i < 20 ? (i / 20) * 1e-3 : 1e-3 * (1 - (i - 20) / 180) }));
const evals = [{ step: 100, loss: 0.4, accuracy: 0.9 }, { step: 200, loss: 0.2, accuracy: 0.95 }];

test('renderTrainingPlot › a training run › well-formed SVG with loss, EMA, eval points and lr', (t) => {
  const svg = renderTrainingPlot(points, evals, { title: 'A & B <test>' });
  const names = parseXml(svg.trim());
  t.is(names[0], 'svg');
  t.regex(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="720" height="480" viewBox="0 0 720 480"/);
  t.is(names.filter((n) => n === 'polyline').length, 3, 'raw loss, EMA, lr');
  t.is(names.filter((n) => n === 'circle').length, 2, 'one point per evaluation');
  t.true(svg.includes('A &amp; B &lt;test&gt;'), 'title escaped');
  t.notRegex(svg, /NaN|Infinity|undefined/);
  const polylines = [...svg.matchAll(/points="([^"]*)"/g)].map((m) => m[1].split(' ').length);
  t.deepEqual(polylines, [200, 200, 200]);
  // Every coordinate inside the canvas.
  for (const m of svg.matchAll(/points="([^"]*)"/g)) {
    for (const xy of m[1].split(' ')) {
      const [x, y] = xy.split(',').map(Number);
      t.true(x >= 0 && x <= 720 && y >= 0 && y <= 480, xy);
    }
  }
});

test('renderTrainingPlot › python xml.etree parses it › when python3 is available', (t) => {
  const svg = renderTrainingPlot(points, evals, { title: 'x' });
  const r = spawnSync('python3', ['-c', 'import sys, xml.etree.ElementTree as E; r = E.fromstring(sys.stdin.read()); print(r.tag, len(list(r.iter())))'], { input: svg, encoding: 'utf8' });
  if (r.error || r.status === null) {
    t.log(`python3 unavailable (${String(r.error)}): skipped the second parser`);
    t.pass();
    return;
  }
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^\{http:\/\/www\.w3\.org\/2000\/svg\}svg \d+/);
});

test('renderTrainingPlot › edge cases › NaN losses skipped, one point, no points', (t) => {
  const withNaN = renderTrainingPlot([{ step: 1, loss: NaN, lr: 0 }, { step: 2, loss: 1, lr: 1e-3 }, { step: 3, loss: Infinity, lr: 1e-3 }]);
  t.notRegex(withNaN, /NaN|Infinity/);
  parseXml(withNaN.trim());
  parseXml(renderTrainingPlot([{ step: 5, loss: 0.5, lr: 1e-3 }]).trim());
  const empty = renderTrainingPlot([]);
  parseXml(empty.trim());
  t.notRegex(empty, /NaN/);
});

test('niceTicks › ranges › 1/2/5 steps covering the range', (t) => {
  t.deepEqual(niceTicks(0, 2.3, 5), [0, 0.5, 1, 1.5, 2, 2.5]);
  t.deepEqual(niceTicks(0, 1e-3, 3), [0, 0.0005, 0.001]);
  t.deepEqual(niceTicks(1, 800, 6), [0, 200, 400, 600, 800]);
  const flat = niceTicks(3, 3, 5);
  t.true(flat.length > 1 && flat[0] <= 3 && flat[flat.length - 1] > 3, `a degenerate range still gets an axis: ${flat}`);
  t.is(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
});

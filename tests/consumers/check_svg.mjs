#!/usr/bin/env node
// check_svg.mjs FILE.svg|FILE.html ...
// Well-formedness check of SVG with Debian's xmllint (libxml2-utils):
//   - FILE.svg: the file itself, and its root must be {http://www.w3.org/2000/svg}svg
//     (a standalone .svg without xmlns is not rendered as SVG by browsers)
//   - FILE.html / .htm: every top-level inline <svg>...</svg> block, fed to xmllint on stdin
//     (inline SVG inside HTML may omit xmlns, so that is not required there)
// The command used per document is:   xmllint --noout --nonet -   (input on stdin)
// It fails when xmllint exits non-zero OR prints anything: namespace errors such as an
// undeclared xlink: prefix are printed but exit 0.
// Exit 0 ok, 1 not well-formed, 2 usage / xmllint missing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const files = process.argv.slice(2);
if (!files.length) { console.error('usage: check_svg.mjs FILE.svg|FILE.html ...'); process.exit(2); }
if (spawnSync('xmllint', ['--version']).error) { console.error('FAIL: xmllint missing (apt-get install -y libxml2-utils)'); process.exit(2); }

function xmllint(text, args = ['--noout', '--nonet', '-']) {
  const r = spawnSync('xmllint', args, { input: text, encoding: 'utf8' });
  return { status: r.status, out: (r.stdout || '').trim(), err: (r.stderr || '').trim() };
}
// top-level <svg ...> ... </svg> blocks (nested <svg> counted), outside HTML comments
function inlineSvgs(html) {
  const blocks = [];
  const src = html.replace(/<!--[\s\S]*?-->/g, (m) => ' '.repeat(m.length));
  const re = /<svg[\s>/]|<\/svg\s*>/gi;
  let depth = 0, start = -1, m;
  while ((m = re.exec(src))) {
    if (m[0][1] !== '/') { if (depth++ === 0) start = m.index; }
    else if (depth > 0 && --depth === 0) blocks.push({ text: html.slice(start, m.index + m[0].length), line: html.slice(0, start).split('\n').length });
  }
  if (depth > 0) blocks.push({ text: html.slice(start), line: html.slice(0, start).split('\n').length, unclosed: true });
  return blocks;
}

let bad = 0, checked = 0;
for (const f of files) {
  let text;
  try { text = fs.readFileSync(f, 'utf8'); } catch (e) { console.error(`FAIL: ${e.message}`); process.exit(2); }
  const docs = /\.html?$/i.test(f) ? inlineSvgs(text) : [{ text, line: 1, standalone: true }];
  if (!docs.length) { console.error(`FAIL: ${f}: no <svg> found`); bad++; continue; }
  for (const d of docs) {
    checked++;
    const where = d.standalone ? f : `${f}: inline <svg> at line ${d.line}`;
    const r = xmllint(d.text);
    if (d.unclosed) { console.error(`FAIL: ${where}: <svg> never closed`); bad++; continue; }
    if (r.status !== 0 || r.err) { console.error(`FAIL: ${where}: xmllint exit ${r.status}\n${r.err.replace(/^-:/gm, `${where} +`)}`); bad++; continue; }
    if (d.standalone) {
      const ns = xmllint(d.text, ['--nonet', '--xpath', 'concat(namespace-uri(/*), " ", local-name(/*))', '-']);
      if (ns.out !== 'http://www.w3.org/2000/svg svg') { console.error(`FAIL: ${where}: root element is ${JSON.stringify(ns.out)}, need <svg xmlns="http://www.w3.org/2000/svg">`); bad++; }
    }
  }
}
if (bad) { console.error(`check_svg: FAILED ${bad} of ${checked} SVG document(s)`); process.exit(1); }
console.log(`check_svg: OK ${checked} SVG document(s) well-formed`);

import { type LayerSummary, type ModelSummary } from '../model/summary.js';
import { type Prediction } from '../model/probe.js';
import { esc, fmt, histogramSvg, page } from './html.js';
import { type DreamJob } from './dreams.js';

export interface ReportLayer {
  index: number;
  name: string;
  /** File-safe folder name under layers/. */
  dir: string;
  units: number[];
  summary: LayerSummary;
}

export interface ExampleCrop {
  file: string;
  src: string;
  value: number;
}

const shape = (s: (number | null)[]) => `[${s.slice(1).join(', ')}]`;
const dreamAlt = (l: ReportLayer, u: number, kind: string) => `${l.name} unit ${u}: ${kind}`;

export function modelPage(m: ModelSummary, layers: ReportLayer[], images: { href: string; name: string }[]): string {
  const rows = m.layers.map((l) => {
    const rl = layers.find((r) => r.index === l.index);
    const rf = l.receptiveField ? (l.receptiveField.global ? 'global' : `${l.receptiveField.size[0]}x${l.receptiveField.size[1]} /${l.receptiveField.stride[0]}`) : '?';
    const name = rl ? `<a href="layers/${esc(rl.dir)}/index.html">${esc(l.name)}</a>` : esc(l.name);
    const thumbs = rl ? `<a class="thumbs" href="layers/${esc(rl.dir)}/index.html">${rl.units.slice(0, 4).map((u) => `<img src="layers/${esc(rl.dir)}/${u}.dream.png" alt="${esc(dreamAlt(rl, u, 'dream'))}" width="40" height="40" loading="lazy">`).join('')}</a>` : '';
    return `<tr><td class="n">${l.index}</td><td>${name}</td><td>${esc(l.className)}</td><td>${esc(shape(l.outputShape))}</td><td class="n">${l.params.toLocaleString('en')}</td><td>${esc(rf)}</td><td>${thumbs}</td></tr>`;
  });
  const body = `<h1>${esc(m.name)}</h1>
<p>Input ${esc(shape(m.inputShape))}, range [${m.inputRange.join(', ')}] (${esc(m.inputRangeSource)}); ${m.totalParams.toLocaleString('en')} parameters; ${m.layers.length} layers, ${layers.length} with unit pages.</p>
<h2>Layers with unit pages</h2>
<div class="row">${layers.map((rl) => `<figure><a class="thumbs big" href="layers/${esc(rl.dir)}/index.html">${rl.units.slice(0, 4).map((u) => `<img src="layers/${esc(rl.dir)}/${u}.dream.png" alt="${esc(dreamAlt(rl, u, 'dream'))}" width="64" height="64">`).join('')}</a><figcaption><a href="layers/${esc(rl.dir)}/index.html">${esc(rl.name)}</a>, ${rl.units.length} units</figcaption></figure>`).join('')}</div>
<h2>All layers</h2>
<table><thead><tr><th scope="col">#</th><th scope="col">name</th><th scope="col">type</th><th scope="col">output shape</th><th scope="col">params</th><th scope="col">receptive field</th><th scope="col">dreams</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
${images.length ? `<h2>Images</h2><ul>${images.map((i) => `<li><a href="${esc(i.href)}">${esc(i.name)}</a></li>`).join('')}</ul>` : ''}`;
  return page({ title: `${m.name}: cnnviz report`, root: '', crumbs: [[m.name, undefined]], next: layers.length ? `layers/${layers[0].dir}/index.html` : undefined, body });
}

export function layerPage(m: ModelSummary, l: ReportLayer, prev?: ReportLayer, next?: ReportLayer): string {
  const cells = l.units.map((u) => {
    const d = `${u}.dream.png`;
    const e = `${u}.top.jpg`;
    return `<a id="u${u}" href="${u}.html"><img src="${d}" alt="${esc(dreamAlt(l, u, 'dream'))}" width="96" height="96" loading="lazy" data-dream="${d}" data-example="${e}" data-dream-alt="${esc(dreamAlt(l, u, 'dream'))}" data-example-alt="${esc(dreamAlt(l, u, 'top dataset example'))}">${u}</a>`;
  });
  const body = `<h1>${esc(l.name)}</h1>
<p>${esc(l.summary.className)}, output ${esc(shape(l.summary.outputShape))}, ${l.units.length} unit pages. <span class="keys">Keys: ← → layers, ↑ model.</span></p>
<p><label>Go to unit <input id="unit-filter" type="number" min="0" max="${Math.max(...l.units)}" inputmode="numeric"></label>
<label><input id="show-examples" type="checkbox"> show each unit's top dataset example instead of its dream</label></p>
<div class="grid">${cells.join('\n')}</div>`;
  return page({ title: `${l.name}: ${m.name}`, root: '../../', crumbs: [[m.name, '../../index.html'], [l.name, undefined]], prev: prev ? `../${prev.dir}/index.html` : undefined, next: next ? `../${next.dir}/index.html` : undefined, up: '../../index.html', body });
}

export interface UnitPageData {
  model: ModelSummary;
  layer: ReportLayer;
  unit: number;
  jobs: DreamJob[];
  top: ExampleCrop[];
  bottom: ExampleCrop[];
  /** The unit's maximum over each photo. */
  maxima: Float32Array | number[];
  kernel?: string;
}

export function unitPage(d: UnitPageData): string {
  const { layer: l, unit: u } = d;
  const i = l.units.indexOf(u);
  const [prev, next] = [l.units[i - 1], l.units[i + 1]];
  const pictures = (job: DreamJob, kind: string) =>
    job.files.filter((f) => f.unit === u).map((f) => `<figure><img class="px" src="${u}.${job.kind}${job.kind === 'div' ? f.copy : ''}.png" alt="${esc(dreamAlt(l, u, job.kind === 'div' ? `${kind} ${f.copy + 1} of ${job.files.filter((g) => g.unit === u).length}` : kind))}" width="128" height="128"><figcaption>${esc(kind)}${job.kind === 'div' ? ` ${f.copy + 1}` : ''}</figcaption></figure>`).join('');
  const [dream, neg, div] = d.jobs;
  const commands = d.jobs.map((j) => `# ${j.kind === 'dream' ? 'dream' : j.kind === 'neg' ? 'negative dream' : 'diversity row'}: ${j.files.filter((f) => f.unit === u).map((f) => f.commandFile).join(', ')}\n${j.command}`).join('\n');
  const crops = (list: ExampleCrop[], kind: string) => `<div class="row">${list.map((c, r) => `<figure><img src="${esc(c.src)}" alt="${esc(`${l.name} unit ${u}: ${kind} example ${r + 1}, ${c.file}, activation ${fmt(c.value)}`)}" width="80" height="80" loading="lazy"><figcaption>${fmt(c.value)}<br>${esc(c.file.length > 14 ? `${c.file.slice(0, 12)}…` : c.file)}</figcaption></figure>`).join('')}</div>`;
  const body = `<h1>${esc(l.name)} unit ${u}</h1>
<p class="keys">Keys: ← → units, ↑ layer. <a href="index.html">${esc(l.name)}</a>${prev !== undefined ? ` · <a href="${prev}.html">unit ${prev}</a>` : ''}${next !== undefined ? ` · <a href="${next}.html">unit ${next}</a>` : ''}</p>
<h2>Feature visualization</h2>
<div class="row">${pictures(dream, 'dream')}${pictures(neg, 'negative dream')}</div>
<h2>Diversity</h2>
<div class="row">${pictures(div, 'diversity')}</div>
<h2>Dataset examples, cropped to the receptive field</h2>
<h3>Top ${d.top.length}</h3>${crops(d.top, 'top')}
<h3>Bottom ${d.bottom.length}</h3>${crops(d.bottom, 'bottom')}
<h2>Activation over the images</h2>
<p>The unit's maximum over each of the ${d.maxima.length} photos.</p>
${histogramSvg(d.maxima, `${l.name} unit ${u}: histogram of its maximum activation over ${d.maxima.length} photos`)}
${d.kernel ? `<h2>Kernel</h2><img class="px" src="${esc(d.kernel)}" alt="${esc(`${l.name} unit ${u}: kernel of the first convolution`)}">` : ''}
<h2>Reproduce</h2>
<pre>${esc(commands)}</pre>`;
  return page({ title: `${l.name} unit ${u}: ${d.model.name}`, root: '../../', crumbs: [[d.model.name, '../../index.html'], [l.name, 'index.html'], [`unit ${u}`, undefined]], prev: prev !== undefined ? `${prev}.html` : undefined, next: next !== undefined ? `${next}.html` : undefined, up: 'index.html', body });
}

/** What an image page shows, section by section (Grad-CAM, feature maps, a caller's extras). */
export interface ImageSection {
  title: string;
  html: string;
}

export function imagePage(m: ModelSummary, name: string, photo: string, top: Prediction[] | undefined, sections: ImageSection[], prev?: string, next?: string): string {
  const classes = top ? `<h2>Top ${top.length} classes</h2><table><tbody>${top.map((p) => `<tr><td>${esc(p.label)}</td><td class="n">${(p.probability * 100).toFixed(1)}%</td></tr>`).join('')}</tbody></table>` : '';
  const body = `<h1>${esc(name)}</h1>
<img src="${esc(photo)}" alt="${esc(`photo ${name} as the model sees it`)}" width="224">
${classes}
${sections.map((s) => `<h2>${esc(s.title)}</h2>${s.html}`).join('\n')}`;
  return page({ title: `${name}: ${m.name}`, root: '../', crumbs: [[m.name, '../index.html'], [name, undefined]], prev, next, up: '../index.html', body });
}

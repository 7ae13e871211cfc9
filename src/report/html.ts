/** The HTML frame every report page shares: inline CSS and script, no network, keyboard links. */

export const esc = (s: string | number): string => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const CSS = `
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 40px;color:#111;background:#fff}
a{color:#0645ad}nav.crumbs{margin:12px 0;font-size:14px}h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:22px 0 8px}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
img.px{image-rendering:pixelated}figure{margin:0;display:inline-block;text-align:center;font-size:12px}figure img{display:block}
.row{display:flex;flex-wrap:wrap;gap:8px}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(104px,1fr));gap:6px}
.grid a{display:block;text-align:center;font-size:12px;text-decoration:none;color:#111}.grid img{width:96px;height:96px;display:block;margin:0 auto;background:#eee}
.thumbs{display:grid;grid-template-columns:repeat(2,40px);gap:1px}.thumbs img{width:40px;height:40px}
pre{background:#f4f4f4;padding:8px;overflow-x:auto;font-size:12px;white-space:pre-wrap}.keys{color:#555;font-size:13px}
label{margin-right:16px}
`;

const SCRIPT = `
document.addEventListener('keydown',function(e){
  if(e.target&&/^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName))return;
  var rel={ArrowLeft:'prev',ArrowRight:'next',ArrowUp:'up'}[e.key];if(!rel)return;
  var l=document.querySelector('link[rel="'+rel+'"]');if(l){e.preventDefault();location.href=l.getAttribute('href');}
});
var f=document.getElementById('unit-filter');
if(f){f.addEventListener('keydown',function(e){if(e.key==='Enter'){var a=document.getElementById('u'+f.value.trim());if(a)location.href=a.getAttribute('href');}});
  f.addEventListener('input',function(){var a=document.getElementById('u'+f.value.trim());if(a)a.scrollIntoView({block:'center'});});}
var t=document.getElementById('show-examples');
if(t){t.addEventListener('change',function(){document.querySelectorAll('img[data-example]').forEach(function(i){
  var ex=t.checked;i.src=ex?i.dataset.example:i.dataset.dream;i.alt=ex?i.dataset.exampleAlt:i.dataset.dreamAlt;});});}
`;

export interface Frame {
  title: string;
  /** '' at the site's root, '../' one folder down, … */
  root: string;
  crumbs: [string, string | undefined][];
  prev?: string;
  next?: string;
  up?: string;
  body: string;
}

export function page(f: Frame): string {
  const links = (['prev', 'next', 'up'] as const).filter((r) => f[r]).map((r) => `<link rel="${r}" href="${esc(f[r]!)}">`).join('\n');
  const crumbs = f.crumbs.map(([text, href]) => (href ? `<a href="${esc(href)}">${esc(text)}</a>` : esc(text))).join(' / ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(f.title)}</title>
${links}
<style>${CSS}</style>
</head>
<body>
<header><nav class="crumbs" aria-label="breadcrumb">${crumbs}</nav></header>
<main>
${f.body}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** A histogram as inline SVG (no picture file): bars of counts over equal bins. */
export function histogramSvg(values: ArrayLike<number>, label: string, bins = 24): string {
  const v = Array.from(values);
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  const width = (hi - lo) || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const x of v) counts[Math.min(bins - 1, Math.floor(((x - lo) / width) * bins))]++;
  const top = Math.max(1, ...counts);
  const [W, H] = [360, 120];
  const bw = W / bins;
  const bars = counts.map((c, i) => `<rect x="${(i * bw).toFixed(1)}" y="${(H - (c / top) * H).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${((c / top) * H).toFixed(1)}" fill="#4a6fa5"><title>${fmt(lo + (i * width) / bins)} to ${fmt(lo + ((i + 1) * width) / bins)}: ${c}</title></rect>`).join('');
  return `<svg role="img" aria-label="${esc(label)}" width="${W}" height="${H + 18}" viewBox="0 0 ${W} ${H + 18}"><title>${esc(label)}</title>${bars}<text x="0" y="${H + 14}" font-size="11">${fmt(lo)}</text><text x="${W}" y="${H + 14}" font-size="11" text-anchor="end">${fmt(hi)}</text></svg>`;
}

export const fmt = (x: number): string => Number(x.toPrecision(3)).toString();

// The photo map: drag to pan, wheel or buttons to zoom; each move asks the
// server for the redrawn map.
const wrap = document.querySelector('[data-map]');
let busy = false;

async function go(href, push = true) {
  if (busy) return;
  busy = true;
  try {
    const res = await fetch(href, { headers: { 'X-Fetch': 'items' }, credentials: 'same-origin' });
    if (!res.ok) throw new Error(res.statusText);
    wrap.innerHTML = await res.text();
    if (push) history.replaceState(null, '', href);
  } catch { location.href = href; } finally { busy = false; }
}

const svg = () => wrap.querySelector('svg');
const scale = () => { const s = svg(); return s.viewBox.baseVal.width / s.getBoundingClientRect().width; };

// World pixels of Web Mercator at zoom z, as the server draws them.
function project(lat, lon, z) {
  const w = 256 * 2 ** z, s = Math.sin(lat * Math.PI / 180);
  return [(lon + 180) / 360 * w, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * w];
}
function unproject(x, y, z) {
  const w = 256 * 2 ** z, n = Math.PI - 2 * Math.PI * y / w;
  return [180 / Math.PI * Math.atan(Math.sinh(n)), ((x / w * 360 - 180) % 360 + 540) % 360 - 180];
}
function moved(dx, dy, dz = 0) {
  const s = svg(), z = Number(s.dataset.z);
  const [cx, cy] = project(Number(s.dataset.lat), Number(s.dataset.lon), z);
  const [lat, lon] = unproject(cx - dx, cy - dy, z);
  const nz = Math.max(2, Math.min(17, z + dz));
  return `/map?lat=${Math.max(-80, Math.min(80, lat)).toFixed(5)}&lon=${lon.toFixed(5)}&z=${nz}`;
}

let drag = null;
wrap.addEventListener('pointerdown', (e) => {
  if (e.target.closest('a')) return;
  drag = { x: e.clientX, y: e.clientY, k: scale(), dx: 0, dy: 0 };
  wrap.setPointerCapture(e.pointerId);
  svg().classList.add('dragging');
});
wrap.addEventListener('pointermove', (e) => {
  if (!drag) return;
  drag.dx = (e.clientX - drag.x) * drag.k; drag.dy = (e.clientY - drag.y) * drag.k;
  svg().querySelector('[data-pan]').setAttribute('transform', `translate(${drag.dx} ${drag.dy})`);
});
wrap.addEventListener('pointerup', () => {
  if (!drag) return;
  const { dx, dy } = drag; drag = null;
  svg().classList.remove('dragging');
  if (Math.abs(dx) + Math.abs(dy) > 4) go(moved(dx, dy));
});
wrap.addEventListener('wheel', (e) => {
  e.preventDefault();
  if (busy) return;
  // Zoom about the pointer: move the pointed place to the centre first.
  const r = svg().getBoundingClientRect(), k = scale();
  const px = (e.clientX - r.left) * k - 512, py = (e.clientY - r.top) * k - 320;
  const dz = e.deltaY < 0 ? 1 : -1;
  go(moved(dz > 0 ? -px / 2 : px, dz > 0 ? -py / 2 : py, dz));
}, { passive: false });
wrap.addEventListener('click', (e) => {
  const a = e.target.closest('.mapctl a, a.cl');
  if (!a) return;
  e.preventDefault();
  go(a.getAttribute('href'));
});

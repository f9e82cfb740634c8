// The photo map: drag to pan, wheel or buttons to zoom; each move asks the
// server for the redrawn map. The new-post flow's location picker mounts
// the same map with a pin at its centre: the map moves under the pin, and
// a tap centres the map on the place tapped.

// World pixels of Web Mercator at zoom z, as the server draws them.
function project(lat, lon, z) {
  const w = 256 * 2 ** z, s = Math.sin(lat * Math.PI / 180);
  return [(lon + 180) / 360 * w, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * w];
}
function unproject(x, y, z) {
  const w = 256 * 2 ** z, n = Math.PI - 2 * Math.PI * y / w;
  return [180 / Math.PI * Math.atan(Math.sinh(n)), ((x / w * 360 - 180) % 360 + 540) % 360 - 180];
}

const SVG = 'http://www.w3.org/2000/svg';

// mountMap makes the map in wrap movable. With pick set, it keeps the page
// where it is (no navigation, no history), draws a pin at the centre and
// reports failures to onError. It returns go(href), which loads a view,
// and center(), the point under the pin.
export function mountMap(wrap, { pick = false, onError = null } = {}) {
  let busy = false;
  const svg = () => wrap.querySelector('svg');
  const scale = () => { const s = svg(); return s.viewBox.baseVal.width / s.getBoundingClientRect().width; };

  function pin() {
    const s = svg(), w = s.viewBox.baseVal.width, h = s.viewBox.baseVal.height;
    const g = document.createElementNS(SVG, 'g');
    g.setAttribute('class', 'mappin');
    g.setAttribute('transform', `translate(${w / 2} ${h / 2})`);
    const p = document.createElementNS(SVG, 'path');
    p.setAttribute('d', 'M0 0C-4-10-14-15-14-25a14 14 0 1 1 28 0C14-15 4-10 0 0z');
    const c = document.createElementNS(SVG, 'circle');
    c.setAttribute('cy', '-25'); c.setAttribute('r', '5');
    g.append(p, c);
    s.append(g);
    s.setAttribute('aria-label', 'Map: the pin marks the point to use');
  }

  async function go(href) {
    if (busy) return;
    busy = true;
    try {
      const res = await fetch(href, { headers: { 'X-Fetch': 'items' }, credentials: 'same-origin' });
      if (!res.ok) throw new Error(`The map could not be loaded (${res.status}); try again.`);
      wrap.innerHTML = await res.text();
      if (pick) pin(); else history.replaceState(null, '', href);
    } catch (e) {
      if (pick) onError?.(e); else location.href = href;
    } finally { busy = false; }
  }

  function moved(dx, dy, dz = 0) {
    const s = svg(), z = Number(s.dataset.z);
    const [cx, cy] = project(Number(s.dataset.lat), Number(s.dataset.lon), z);
    const [lat, lon] = unproject(cx - dx, cy - dy, z);
    const nz = Math.max(2, Math.min(17, z + dz));
    return `/map?lat=${Math.max(-80, Math.min(80, lat)).toFixed(5)}&lon=${lon.toFixed(5)}&z=${nz}`;
  }
  // The offset of a pointer from the map's centre, in map pixels.
  function offset(e) {
    const s = svg(), r = s.getBoundingClientRect(), k = scale();
    return [(e.clientX - r.left) * k - s.viewBox.baseVal.width / 2, (e.clientY - r.top) * k - s.viewBox.baseVal.height / 2];
  }

  let drag = null, dragged = false;
  wrap.addEventListener('pointerdown', (e) => {
    dragged = false;
    if (!svg() || e.target.closest(pick ? '.mapctl' : 'a')) return;
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
    dragged = Math.abs(dx) + Math.abs(dy) > 4;
    if (dragged) go(moved(dx, dy));
  });
  wrap.addEventListener('wheel', (e) => {
    if (!svg()) return;
    e.preventDefault();
    if (busy) return;
    // Zoom about the pointer: move the pointed place to the centre first.
    const [px, py] = offset(e);
    const dz = e.deltaY < 0 ? 1 : -1;
    go(moved(dz > 0 ? -px / 2 : px, dz > 0 ? -py / 2 : py, dz));
  }, { passive: false });
  wrap.addEventListener('click', (e) => {
    if (dragged) { dragged = false; e.preventDefault(); return; }
    const a = e.target.closest('.mapctl a, a.cl');
    if (a) { e.preventDefault(); go(a.getAttribute('href')); return; }
    // (The pointer was captured, so the target may be the wrapper.)
    const r = svg()?.getBoundingClientRect();
    if (pick && r && e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom) {
      e.preventDefault();
      const [px, py] = offset(e);
      go(moved(-px, -py));
    }
  });

  return {
    go,
    center: () => { const s = svg(); return s ? { lat: Number(s.dataset.lat), lon: Number(s.dataset.lon) } : null; },
  };
}

// On the map page, the page's own map.
export default function start() {
  const wrap = document.querySelector('[data-map]');
  if (wrap) mountMap(wrap);
}

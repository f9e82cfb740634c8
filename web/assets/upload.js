// The new-post flow: pick → crop → filter → details → share, one screen
// per step. Previews come from the server, rendered by the same pipeline
// as the stored photo; the upload shows its progress.
export default function start({ send, csrf, el, attachList, icon }) {

  const root = document.querySelector('[data-newpost]');
  const form = root.querySelector('form');
  const steps = ['pick', 'crop', 'filter', 'details'];
  const titles = { pick: 'New post', crop: 'Crop', filter: 'Filter', details: 'New post' };
  const $ = (s) => root.querySelector(s);
  const errBox = root.querySelector('[data-error]');
  const fail = (e) => { errBox.textContent = e?.message ?? ''; errBox.hidden = !e; };
  const ASPECTS = { original: 0, square: 1, portrait: 0.8 };

  let step = 0;
  let photos = []; // {file, base: {url,width,height,blob}, aspect, crop:{x,y,w,h}, filter, samples}
  let cur = 0;

  root.classList.add('stepping');
  $('[data-share]').hidden = true;
  function show(i) {
    step = i;
    for (const s of root.querySelectorAll('[data-step]')) s.classList.toggle('on', s.dataset.step === steps[i]);
    $('[data-step-title]').textContent = titles[steps[i]];
    $('[data-back]').hidden = i === 0;
    $('[data-next]').hidden = i === 0 || i === steps.length - 1;
    $('[data-share]').hidden = i !== steps.length - 1;
    fail(null);
    if (steps[i] === 'crop') drawCrop();
    if (steps[i] === 'filter') loadFilters();
    if (steps[i] === 'details') showFinal();
  }
  show(0);
  $('[data-back]').addEventListener('click', () => show(step - 1));
  $('[data-next]').addEventListener('click', () => show(step + 1));

  // Pick or drop.
  const input = $('[data-files]');
  const drop = $('[data-drop]');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); pick([...e.dataTransfer.files]); });
  input.addEventListener('change', () => pick([...input.files]));

  async function preview(blob, crop) {
    const fd = new FormData();
    fd.append('file', blob);
    if (crop) fd.append('crop', [crop.x, crop.y, crop.w, crop.h].map((v) => v.toFixed(4)).join(','));
    return send('/api/v1/media/preview', { method: 'POST', body: fd });
  }
  // A data: URL as a Blob (fetching it would break the CSP's connect-src).
  const toBlob = (dataURL) => {
    const [head, b64] = dataURL.split(',');
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new Blob([bytes], { type: head.slice(5, head.indexOf(';')) });
  };

  async function pick(files) {
    if (!files.length) return;
    if (files.length > 10) { fail(new Error('A post holds at most 10 photos.')); return; }
    drop.querySelector('span').textContent = 'Reading your photos…';
    try {
      photos = await Promise.all(files.map(async (file) => {
        const p = await preview(file);
        return { file, base: { url: p.base, width: p.width, height: p.height, blob: toBlob(p.base) }, gps: p.location_suggestion, aspect: 'original', crop: null, filter: 'normal', samples: p.filters };
      }));
    } catch (e) { fail(e); drop.querySelector('span').textContent = 'Choose photos or drag them here'; return; }
    cur = 0;
    const thumbs = $('[data-thumbs]');
    thumbs.replaceChildren(...photos.map((p, i) => {
      const b = el('button', { type: 'button', 'aria-label': `Photo ${i + 1}` }, el('img', { src: p.base.url, alt: '' }));
      b.addEventListener('click', () => { cur = i; drawCrop(); });
      return b;
    }));
    thumbs.hidden = photos.length < 2;
    photosChanged();
    show(1);
  }

  // Crop: a frame of the chosen aspect over the photo, dragged to place.
  const cropImg = $('[data-crop-img]');
  const frame = $('[data-frame]');
  for (const r of root.querySelectorAll('[name=aspect]')) r.addEventListener('change', () => { photos[cur].aspect = r.value; photos[cur].crop = null; drawCrop(); });

  function defaultCrop(p) {
    const a = ASPECTS[p.aspect];
    if (!a) return { x: 0, y: 0, w: 1, h: 1 };
    const fw = a * p.base.height / p.base.width;
    return fw <= 1 ? { x: (1 - fw) / 2, y: 0, w: fw, h: 1 } : { x: 0, y: (1 - 1 / fw) / 2, w: 1, h: 1 / fw };
  }
  function drawCrop() {
    const p = photos[cur];
    if (!p) return;
    $('[data-cropper]').hidden = false;
    cropImg.src = p.base.url;
    for (const [i, b] of [...$('[data-thumbs]').children].entries()) b.classList.toggle('on', i === cur);
    for (const r of root.querySelectorAll('[name=aspect]')) r.checked = r.value === p.aspect;
    p.crop ??= defaultCrop(p);
    const c = p.crop;
    frame.hidden = p.aspect === 'original';
    // Percentages via the CSSOM (the CSP allows no inline style markup).
    Object.assign(frame.style, { left: `${c.x * 100}%`, top: `${c.y * 100}%`, width: `${c.w * 100}%`, height: `${c.h * 100}%` });
    p.samples = null;
  }
  let fdrag = null;
  frame.addEventListener('pointerdown', (e) => { fdrag = { x: e.clientX, y: e.clientY, c: { ...photos[cur].crop } }; frame.setPointerCapture(e.pointerId); });
  frame.addEventListener('pointermove', (e) => {
    if (!fdrag) return;
    const r = cropImg.getBoundingClientRect(), p = photos[cur], c = p.crop;
    c.x = Math.max(0, Math.min(1 - c.w, fdrag.c.x + (e.clientX - fdrag.x) / r.width));
    c.y = Math.max(0, Math.min(1 - c.h, fdrag.c.y + (e.clientY - fdrag.y) / r.height));
    frame.style.left = `${c.x * 100}%`; frame.style.top = `${c.y * 100}%`;
    p.samples = null;
  });
  frame.addEventListener('pointerup', () => { fdrag = null; });

  // Filter: the strip shows each filter on this photo, as the server renders it.
  const slots = [...root.querySelectorAll('[data-fprev]')];
  const radios = [...root.querySelectorAll('[name=filter]')];
  for (const r of radios) r.addEventListener('change', () => { photos[cur].filter = r.value; });
  async function loadFilters() {
    const p = photos[cur];
    if (!p) return;
    for (const r of radios) r.checked = r.value === p.filter;
    if (!p.samples) {
      try { p.samples = (await preview(p.base.blob, p.crop)).filters; } catch (e) { fail(e); return; }
    }
    const by = Object.fromEntries(p.samples.map((f) => [f.name, f.image]));
    radios.forEach((r, i) => slots[i].replaceChildren(el('img', { src: by[r.value], alt: '' })));
  }

  // Details: the photo as it will look, caption, alt text, location.
  const final = $('[data-final]');
  function showFinal() {
    const p = photos[0];
    if (p) { final.src = p.samples?.find((f) => f.name === p.filter)?.image ?? p.base.url; }
  }
  // Location: a place others have used (by name, nearest the photo first
  // when it says where it was taken), the photo's own location in one tap,
  // or a point picked on the map; never numbers to type.
  const place = $('[data-place-search]'), chips = $('[data-place-chips]'), chosen = $('[data-chosen]');
  let gps = null; // where the photo was taken, when it says
  let loc = null; // the chosen {lat, lon}, and for a point to name, its origin
  let nearby = [];
  const near = () => (loc?.origin ? loc : gps);
  const km = (d) => (d < 1 ? `${Math.round(d * 1000)} m` : `${d < 10 ? d.toFixed(1) : Math.round(d).toLocaleString()} km`);
  async function places(q) {
    const at = near();
    if (!q && !at) return [];
    const qs = new URLSearchParams({ limit: '10' });
    if (q) qs.set('q', q);
    if (at) qs.set('near', `${at.lat.toFixed(5)},${at.lon.toFixed(5)}`);
    const items = (await send(`/api/v1/places/search?${qs}`).catch(() => ({ items: [] }))).items;
    // Namesakes a kilometre apart are separate places; offer the nearest.
    const seen = new Set();
    return items.filter((p) => !seen.has(p.name.toLowerCase()) && seen.add(p.name.toLowerCase()));
  }
  function describe() {
    const name = place.value.trim();
    if (!loc) return;
    const origin = { photo: 'Where this photo was taken', map: 'The point picked on the map' }[loc.origin];
    $('[data-chosen-text]').textContent = origin ? (name ? `${name} · ${origin.toLowerCase()}` : `${origin}: give it a name`) : name;
  }
  function choose(next, name) {
    loc = next;
    $('[data-lat]').value = loc ? loc.lat.toFixed(5) : '';
    $('[data-lon]').value = loc ? loc.lon.toFixed(5) : '';
    if (name !== undefined) place.value = name;
    place.placeholder = loc?.origin ? 'Name this place' : 'Add a location';
    chosen.hidden = !loc;
    describe();
    renderChips();
  }
  function chip(label, onClick, cls = '') {
    const b = el('button', { type: 'button', class: cls }, ...[label].flat().map((k) => (typeof k === 'string' ? el('span', {}, k) : k)));
    b.addEventListener('click', onClick);
    return b;
  }
  function renderChips() {
    const items = [];
    if (gps && loc?.origin !== 'photo') items.push(chip([icon('pin'), 'Where this photo was taken'], () => { choose({ ...gps, origin: 'photo' }); place.focus(); loadChips(); }, 'gps'));
    if (!loc || loc.origin) for (const p of nearby.slice(0, 5)) items.push(chip(`${p.name} · ${km(p.distance_km)}`, () => choose({ lat: p.lat, lon: p.lon }, p.name)));
    chips.replaceChildren(...items);
    chips.hidden = items.length === 0;
  }
  async function loadChips() { nearby = await places(''); renderChips(); }
  function photosChanged() { gps = photos.find((p) => p.gps)?.gps ?? null; choose(null, ''); loadChips(); }
  place.addEventListener('input', () => { if (loc && !loc.origin) choose(null); else describe(); });
  $('[data-unchoose]').addEventListener('click', () => { choose(null, ''); place.focus(); });
  attachList(place, $('[data-place-results]'), async () => {
    const q = place.value.trim();
    return q ? (await places(q)).map((p) => ({
      href: `/places/${p.id}`, label: p.name, place: p, icon: el('span', { class: 'av none' }, icon('pin')),
      sub: [p.distance_km !== undefined ? km(p.distance_km) : '', `${p.posts.toLocaleString()} ${p.posts === 1 ? 'post' : 'posts'}`].filter(Boolean).join(' · '),
    })) : [];
  }, (it) => choose({ lat: it.place.lat, lon: it.place.lon }, it.place.name));

  // The map picker: the map moves under a pin at its centre.
  const picker = $('[data-picker]'), openPicker = $('[data-pick-open]');
  let map = null;
  openPicker.addEventListener('click', async () => {
    picker.hidden = false; openPicker.hidden = true; fail(null);
    const at = loc ?? gps;
    try {
      const { mountMap } = await import(openPicker.dataset.mapModule);
      map ??= mountMap($('[data-picker-map]'), { pick: true, onError: fail });
      await map.go(at ? `/map?lat=${at.lat.toFixed(5)}&lon=${at.lon.toFixed(5)}&z=12` : '/map?lat=20&lon=0&z=2');
    } catch (e) { fail(e); }
  });
  const closePicker = () => { picker.hidden = true; openPicker.hidden = false; };
  $('[data-pick-cancel]').addEventListener('click', closePicker);
  $('[data-pick-use]').addEventListener('click', () => {
    const c = map?.center();
    if (!c) return;
    choose({ ...c, origin: 'map' }, loc?.origin ? place.value : '');
    closePicker();
    place.focus();
    loadChips();
  });

  // Share: upload each photo with its crop and filter (with progress), then post.
  function upload(p, i, n, bar) {
    return new Promise((resolve, reject) => {
      const fd = new FormData();
      fd.append('file', p.file);
      fd.append('filter', p.filter);
      if (p.aspect !== 'original') fd.append('crop', [p.crop.x, p.crop.y, p.crop.w, p.crop.h].map((v) => v.toFixed(4)).join(','));
      const alt = form.elements.alt.value.trim();
      if (alt) fd.append('alt', alt);
      const x = new XMLHttpRequest();
      x.open('POST', '/api/v1/media');
      x.setRequestHeader('X-CSRF-Token', csrf);
      x.setRequestHeader('Accept', 'application/json');
      x.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = ((i + e.loaded / e.total) / n) * 95; };
      x.onload = () => {
        let body = null;
        try { body = JSON.parse(x.responseText); } catch { /* not JSON */ }
        if (x.status === 201) resolve(body); else reject(new Error(body?.detail ?? 'The upload failed; try again.'));
      };
      x.onerror = () => reject(new Error('The upload was interrupted; check your connection and try again.'));
      x.send(fd);
    });
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!photos.length) { fail(new Error('Choose at least one photo to share.')); show(0); return; }
    const name = place.value.trim();
    if (name && !loc) { fail(new Error('Choose the place from the list, use where the photo was taken, or pick a point on the map.')); place.focus(); return; }
    if (loc && !name) { fail(new Error('Give the place a name.')); place.focus(); return; }
    const bar = $('[data-progress]'), btn = $('[data-share]');
    bar.hidden = false; btn.disabled = true; fail(null);
    try {
      const ids = [];
      for (const [i, p] of photos.entries()) ids.push((await upload(p, i, photos.length, bar)).id);
      const body = { caption: form.elements.caption.value, media_ids: ids };
      if (loc) body.location = { name, lat: loc.lat, lon: loc.lon };
      const post = await send('/api/v1/posts', { method: 'POST', json: body });
      bar.value = 100;
      location.href = `/p/${post.id}`;
    } catch (err) { fail(err); bar.hidden = true; btn.disabled = false; }
  });
}

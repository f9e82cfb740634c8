// The settings page's import: the archive goes up in chunks (after a
// failed chunk, from where the server says it has got to), then the
// import's progress is followed until it ends and the page shows its
// summary. The import itself runs on the server: leaving the page, or
// reloading it, does not stop it.
export default function start({ send }) {
  const root = document.querySelector('[data-import]');
  const form = root.querySelector('[data-import-form]');
  const run = root.querySelector('[data-run]');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  if (run && ['queued', 'running'].includes(run.dataset.state)) {
    if (form) form.hidden = true;
    follow(run);
  }
  async function follow(box) {
    const status = box.querySelector('[data-run-status]'), bar = box.querySelector('[data-run-progress]');
    for (;;) {
      await sleep(1500);
      let items;
      try { ({ items } = await send('/api/v1/me/imports')); } catch { continue; }
      const r = items.find((i) => String(i.id) === box.dataset.run);
      if (!r) return;
      if (r.state === 'done' || r.state === 'failed') { location.reload(); return; }
      status.textContent = `Importing from ${r.source}: ${r.done} of ${r.total || '?'} posts, ${r.photos} ${r.photos === 1 ? 'photo' : 'photos'} so far. You can leave this page; the import goes on.`;
      if (r.total) { bar.max = r.total; bar.value = r.done; }
    }
  }

  if (!form) return;
  const bar = form.querySelector('[data-import-progress]'), err = form.querySelector('[data-import-error]');
  const button = form.querySelector('[data-import-start]');
  const fail = (e) => { err.textContent = e?.message ?? ''; err.hidden = !e; };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = form.querySelector('[data-import-file]').files[0];
    if (!file) return;
    fail(null); bar.hidden = false; bar.value = 0; button.disabled = true;
    try {
      const up = await send('/api/v1/me/imports/uploads', { method: 'POST', json: { size: file.size } });
      const at = `/api/v1/me/imports/uploads/${up.id}`;
      let off = up.received;
      for (let failures = 0; off < file.size;) {
        try {
          const r = await send(`${at}?offset=${off}`, { method: 'PUT', body: file.slice(off, Math.min(off + up.chunk, file.size)),
            headers: { 'Content-Type': 'application/octet-stream' } });
          off = r.received; failures = 0;
          bar.value = (off / file.size) * 100;
        } catch (e) {
          if (++failures > 4) throw e;
          await sleep(1000 * 2 ** failures);
          off = (await send(at)).received; // what arrived before the failure
        }
      }
      await send(`${at}/finish`, { method: 'POST' });
      location.reload();
    } catch (e) { fail(e); bar.hidden = true; button.disabled = false; }
  });
}

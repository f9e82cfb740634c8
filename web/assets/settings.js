// The settings page: turn push notifications on or off in this browser.
export default function start({ send, el }) {
  const box = document.querySelector('[data-push]');
  const status = box.querySelector('[data-push-status]');
  const button = box.querySelector('[data-push-toggle]');
  const say = (t) => { status.textContent = t; };
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) {
    say('This browser cannot receive push notifications.');
    return;
  }
  const b64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4)), (c) => c.charCodeAt(0));
  let reg, sub;
  const refresh = async () => {
    reg = await navigator.serviceWorker.register('/sw.js');
    sub = await reg.pushManager.getSubscription();
    button.hidden = false;
    button.textContent = sub ? 'Turn off push notifications' : 'Turn on push notifications';
    say(sub ? 'This browser receives push notifications.' : 'Push notifications are off in this browser.');
  };
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      if (sub) {
        await send('/api/v1/push/subscriptions', { method: 'DELETE', json: { endpoint: sub.endpoint } });
        await sub.unsubscribe();
      } else {
        if (await Notification.requestPermission() !== 'granted') { say('Notifications are blocked for this site in the browser.'); return; }
        const { public_key: key } = await send('/api/v1/push/key');
        const s = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(key) });
        await send('/api/v1/push/subscriptions', { method: 'POST', json: s.toJSON() });
      }
      await refresh();
    } catch (e) { say(e.message); } finally { button.disabled = false; }
  });
  refresh().catch((e) => say(e.message));
  // Quiet hours are in this browser's time zone.
  const tz = document.querySelector('[name=utc_offset]');
  if (tz && !tz.value) tz.value = String(-new Date().getTimezoneOffset());
  void el;
}

// aperture's service worker: it shows Web Push messages and opens the
// page a message is about when it is clicked.
self.addEventListener('push', (event) => {
  let msg = { title: 'aperture', body: '', url: '/' };
  try { msg = { ...msg, ...event.data.json() }; } catch { /* not JSON */ }
  event.waitUntil(self.registration.showNotification(msg.title, { body: msg.body, data: { url: msg.url }, icon: '/assets/favicon.svg', tag: msg.url }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url ?? '/', self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: 'window' }).then((wins) => {
    const open = wins.find((w) => w.url === url);
    return open ? open.focus() : self.clients.openWindow(url);
  }));
});

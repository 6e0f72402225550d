"use strict";
/* The console's service worker: the shell (the page and its versioned scripts, styles, icons)
 * is kept in a cache so the console opens on weak shop Wi-Fi; the API and the realtime socket
 * always go to the network. A deploy changes {{V}}, so a new worker installs a new shell and the
 * old one is dropped. Tapping a notification brings the console forward. */
const VERSION = "{{V}}";
const SHELL = `daogou-shell-${VERSION}`;

async function precache() {
  const cache = await caches.open(SHELL);
  const page = await fetch("/console/", { credentials: "same-origin", cache: "no-store" });
  const html = await page.clone().text();
  await cache.put("/console/", page);
  // Every versioned file the page names (its scripts, styles, manifest and icons): one list, the page's.
  const assets = [...new Set(html.match(/\/static\/[A-Za-z0-9]+\/[^"' )]+/g) || [])];
  await cache.addAll(assets);
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("daogou-shell-") && k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {  // versioned, never changes: cache first
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  } else if (request.mode === "navigate" && url.pathname === "/console/") {  // fresh when online
    event.respondWith(fetch(request).catch(() => caches.match("/console/")));
  }
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || "/console/";
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    for (const w of windows) if (w.url.includes("/console/") && "focus" in w) return w.focus();
    return self.clients.openWindow(target);
  }));
});

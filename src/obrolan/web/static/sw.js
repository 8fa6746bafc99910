// The service worker: keeps the app's shell so that it opens without a network.
// The server fills in the release version and the shell's URLs; a new release is a new
// cache, and the old one is dropped once the new worker takes over.
const VERSION = "{{version}}";
const SHELL = {{shell}};
const CACHE = `obrolan-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith("obrolan-shell-") && key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // The page from the network when there is one (it names the newest assets), else the kept one.
    event.respondWith(fetch(request).catch(() => caches.match("/")));
  } else if (url.pathname.startsWith("/assets/")) {
    // Asset URLs carry their content's hash: a kept copy is always right.
    event.respondWith(caches.match(request).then((kept) => kept || fetch(request)));
  }
  // Everything else (the API) always goes to the network.
});

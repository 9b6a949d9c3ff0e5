// ovr console service worker: the shell is cached, so the console opens with the node out of
// reach (it then shows the last data it had, marked stale). Data (/api/...) is never cached here:
// the page keeps its last answers itself and marks them stale.
const CACHE = "ovr-console-730033e74be6";
const SHELL = ["./", "index.html", "manifest.webmanifest", "icon.svg", "assets/app.1fa3166053fe.css", "assets/app.a55781fcf22d.js", "assets/uPlot.19c8d4c6ad88.min.js", "assets/uPlot.df630c6a8d6f.min.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("ovr-console-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope);
  if (!url.pathname.startsWith(scope.pathname) || url.pathname.startsWith("/api/")) return;
  // The shell: network first (a new build shows at once), the cache when the node is out of reach
  // or slower than 4 s (a flaky mesh).
  const timeout = new Promise((resolve, reject) => setTimeout(() => reject(new Error("timeout")), 4000));
  event.respondWith(Promise.race([fetch(event.request), timeout]).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(event.request, copy));
    }
    return response;
  }).catch(() => caches.match(event.request, {ignoreSearch: true})
    .then((hit) => hit || caches.match(new URL("./", self.registration.scope).href))));
});

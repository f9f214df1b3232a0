/* leadwell first-party tracking script. Served per site from /t/{site}.js with its settings filled in. */
(function () {
  "use strict";
  var ENDPOINT = "__LEADWELL_BASE__";
  var SITE = "__LEADWELL_SITE__";
  var DOMAINS = __LEADWELL_DOMAINS__;
  var COOKIE = "lw_vid";
  var PARAM = "lw_vid";
  var TWO_YEARS = 2 * 365 * 24 * 3600;
  var KEY = /^[A-Za-z0-9_-]{22}$/;

  if (window.leadwellTracker) { return; }

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function readCookie() {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var pair = parts[i].split("=");
      if (pair[0] === COOKIE && KEY.test(pair[1] || "")) { return pair[1]; }
    }
    return null;
  }

  function writeCookie(key) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = COOKIE + "=" + key + "; Max-Age=" + TWO_YEARS + "; Path=/; SameSite=Lax" + secure;
  }

  function hostMatches(host) {
    host = (host || "").toLowerCase();
    for (var i = 0; i < DOMAINS.length; i++) {
      var domain = String(DOMAINS[i]).toLowerCase();
      if (host === domain || host.slice(-domain.length - 1) === "." + domain) { return true; }
    }
    return false;
  }

  // A page opened from another of the site's domains carries the key in its address: adopt it,
  // then take it out of the address bar so it is not bookmarked or shared.
  function adoptFromAddress() {
    var url;
    try { url = new URL(location.href); } catch (e) { return null; }
    var given = url.searchParams.get(PARAM);
    if (given === null) { return null; }
    url.searchParams.delete(PARAM);
    if (window.history && history.replaceState) {
      history.replaceState(history.state, "", url.pathname + url.search + url.hash);
    }
    return KEY.test(given) ? given : null;
  }

  var visitor = adoptFromAddress() || readCookie() || newKey();
  writeCookie(visitor);

  function send(path, data) {
    var body = JSON.stringify(data);
    var url = ENDPOINT + path;
    if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) {
      return;
    }
    if (window.fetch) {
      fetch(url, { method: "POST", body: body, keepalive: true, mode: "no-cors",
                   headers: { "Content-Type": "text/plain" } });
    }
  }

  function pageView() {
    var referrer = /^https?:\/\//.test(document.referrer) ? document.referrer : "";
    send("/t/pv", { k: SITE, v: visitor, u: location.href.slice(0, 2000),
                    t: (document.title || "").slice(0, 300), r: referrer.slice(0, 2000) });
  }

  // Links to the site's other domains take the visitor along.
  function decorate(event) {
    var node = event.target;
    while (node && node.nodeName !== "A") { node = node.parentNode; }
    if (!node || !node.href) { return; }
    var url;
    try { url = new URL(node.href, location.href); } catch (e) { return; }
    if (!/^https?:$/.test(url.protocol) || url.hostname === location.hostname) { return; }
    if (!hostMatches(url.hostname)) { return; }
    url.searchParams.set(PARAM, visitor);
    node.href = url.toString();
  }

  // Embedded leadwell form frames learn who is filling them in.
  function tagFrame(frame) {
    var src = frame.getAttribute("src") || "";
    if (src.indexOf(ENDPOINT + "/f/") !== 0) { return; }
    var url;
    try { url = new URL(src); } catch (e) { return; }
    if (url.searchParams.get("vid") === visitor) { return; }
    url.searchParams.set("vid", visitor);
    frame.setAttribute("src", url.toString());
  }

  function tagFrames(root) {
    var frames = (root.querySelectorAll ? root.querySelectorAll("iframe") : []);
    for (var i = 0; i < frames.length; i++) { tagFrame(frames[i]); }
    if (root.nodeName === "IFRAME") { tagFrame(root); }
  }

  document.addEventListener("click", decorate, true);
  document.addEventListener("auxclick", decorate, true);
  if (window.MutationObserver) {
    new MutationObserver(function (changes) {
      for (var i = 0; i < changes.length; i++) {
        var added = changes[i].addedNodes;
        for (var j = 0; j < added.length; j++) { if (added[j].nodeType === 1) { tagFrames(added[j]); } }
      }
    }).observe(document.documentElement, { childList: true, subtree: true });
  }
  function start() { tagFrames(document); pageView(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  window.leadwellTracker = { visitor: visitor, site: SITE };
})();

// Puts a leadwell form on another site: every <div data-leadwell-form="SLUG"> (SLUG taken from this
// script's own address, /f/SLUG/embed.js) gets a frame of /f/SLUG/frame, given the host page's UTM
// parameters, its address and the visitor key the tracking script keeps in its lw_vid cookie.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var source = new URL(script.src);
  var match = source.pathname.match(/\/f\/([a-z0-9-]+)\/embed\.js$/);
  if (!match) return;
  var slug = match[1];
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

  function visitorKey() {
    var found = document.cookie.match(/(?:^|;\s*)lw_vid=([A-Za-z0-9_-]{1,64})/);
    return found ? found[1] : "";
  }

  function frameAddress() {
    var address = new URL(source.origin + "/f/" + slug + "/frame");
    var here = new URLSearchParams(window.location.search);
    UTM.forEach(function (name) {
      var value = here.get(name);
      if (value) address.searchParams.set(name, value.slice(0, 200));
    });
    address.searchParams.set("ref", window.location.href.slice(0, 2000));
    if (document.referrer) address.searchParams.set("rf", document.referrer.slice(0, 2000));
    var key = visitorKey();
    if (key) address.searchParams.set("vid", key);
    return address.toString();
  }

  function mount(holder) {
    if (holder.getAttribute("data-leadwell-mounted")) return;
    holder.setAttribute("data-leadwell-mounted", "1");
    var frame = document.createElement("iframe");
    frame.src = frameAddress();
    frame.title = holder.getAttribute("data-title") || "Form";
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.height = "480px";
    holder.appendChild(frame);
    window.addEventListener("message", function (event) {
      // Only this frame, served from leadwell, may resize it.
      if (event.origin !== source.origin || event.source !== frame.contentWindow) return;
      var data = event.data;
      if (!data || data.type !== "leadwell:height") return;
      var height = Number(data.height);
      if (isFinite(height) && height > 0 && height < 20000) frame.style.height = Math.ceil(height) + "px";
    });
  }

  function mountAll() {
    var holders = document.querySelectorAll('div[data-leadwell-form="' + slug + '"]');
    Array.prototype.forEach.call(holders, mount);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();

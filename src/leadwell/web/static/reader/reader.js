// The hosted PDF reader: pdf.js draws one page at a time on a canvas, and the reader reports which
// pages were seen and for how long the reader was actively reading, with navigator.sendBeacon.
//
// Active time grows only while the tab is visible and the reader had some input (a page turn, a
// key, scrolling, the pointer) within the last minute: an open tab nobody looks at is not reading.
// Every report repeats the whole state of this page load (cumulative), so the server may receive
// reports twice or out of order without counting anything twice.
import * as pdfjs from "../vendor/pdfjs/pdf.min.mjs";

const IDLE_AFTER_MS = 60_000;
const TICK_MS = 1_000;
const LONGEST_TICK_MS = 5_000; // a stalled timer (sleep, busy page) never counts more than this
const HEARTBEAT_MS = 15_000;
const TURN_SETTLE_MS = 1_000; // page turns in quick succession make one report
const MAX_WIDTH_PX = 960;

pdfjs.GlobalWorkerOptions.workerSrc = new URL("../vendor/pdfjs/pdf.worker.min.mjs", import.meta.url).href;

const root = document.getElementById("reader");
const canvas = document.getElementById("reader-canvas");
const message = document.getElementById("reader-message");
const pageLabel = document.getElementById("reader-page");
const totalLabel = document.getElementById("reader-total");
const previous = document.getElementById("reader-prev");
const next = document.getElementById("reader-next");

const sessionId = newSessionId();
const seen = new Set();
let documentProxy = null;
let pageCount = 0;
let wanted = 1;
let shown = 0;
let drawing = false;
let sequence = 0;
let sent = { active: -1, pages: 0 };
let settleTimer = null;

const clock = {
  activeMs: 0,
  lastInput: performance.now(),
  lastTick: performance.now(),
  visible: document.visibilityState === "visible",
};

function newSessionId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

function noteInput() {
  clock.lastInput = performance.now();
}

function tick() {
  const now = performance.now();
  const elapsed = Math.min(now - clock.lastTick, LONGEST_TICK_MS);
  clock.lastTick = now;
  if (clock.visible && now - clock.lastInput <= IDLE_AFTER_MS) {
    clock.activeMs += elapsed;
  }
}

function report() {
  tick();
  if (!pageCount || seen.size === 0) {
    return;
  }
  const active = Math.floor(clock.activeMs / 1000);
  if (active === sent.active && seen.size === sent.pages) {
    return;
  }
  sequence += 1;
  const pages = [...seen].sort((a, b) => a - b);
  const body = JSON.stringify({ pages, of: pageCount, active, s: sessionId, seq: sequence });
  if (navigator.sendBeacon(root.dataset.beaconUrl, body)) {
    sent = { active, pages: seen.size };
  }
}

function reportSoon() {
  clearTimeout(settleTimer);
  settleTimer = setTimeout(report, TURN_SETTLE_MS);
}

function showStatus() {
  pageLabel.textContent = String(wanted);
  totalLabel.textContent = pageCount ? String(pageCount) : totalLabel.textContent;
  previous.disabled = !pageCount || wanted <= 1;
  next.disabled = !pageCount || wanted >= pageCount;
}

async function draw(number) {
  const page = await documentProxy.getPage(number);
  const natural = page.getViewport({ scale: 1 });
  const width = Math.min(root.clientWidth || natural.width, MAX_WIDTH_PX);
  const viewport = page.getViewport({ scale: width / natural.width });
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.floor(viewport.width * ratio);
  canvas.height = Math.floor(viewport.height * ratio);
  canvas.style.width = `${Math.floor(viewport.width)}px`;
  canvas.style.height = `${Math.floor(viewport.height)}px`;
  const transform = ratio === 1 ? null : [ratio, 0, 0, ratio, 0, 0];
  await page.render({ canvas, canvasContext: canvas.getContext("2d"), viewport, transform }).promise;
  canvas.setAttribute("aria-label", `Page ${number} of ${pageCount}`);
  canvas.hidden = false;
  message.hidden = true;
  shown = number;
  if (!seen.has(number)) {
    seen.add(number);
    reportSoon();
  }
}

async function show(number) {
  if (!pageCount) {
    return;
  }
  wanted = Math.min(Math.max(number, 1), pageCount);
  showStatus();
  if (drawing) {
    return; // the loop below picks up the newest wish when the current page is done
  }
  drawing = true;
  try {
    while (shown !== wanted) {
      await draw(wanted);
    }
  } catch (error) {
    failed(error);
  } finally {
    drawing = false;
    root.dataset.shown = String(shown);
  }
}

function turn(step) {
  noteInput();
  show(wanted + step);
}

function failed(error) {
  message.hidden = false;
  message.textContent = "This document could not be shown here. Use “Download PDF” to read it on your device.";
  console.error(error);
}

function listen() {
  previous.addEventListener("click", () => turn(-1));
  next.addEventListener("click", () => turn(1));
  document.addEventListener("keydown", (event) => {
    noteInput();
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    if (event.key === "ArrowRight" || event.key === "PageDown") {
      event.preventDefault();
      turn(1);
    } else if (event.key === "ArrowLeft" || event.key === "PageUp") {
      event.preventDefault();
      turn(-1);
    }
  });
  for (const kind of ["pointerdown", "pointermove", "wheel", "scroll", "touchstart"]) {
    window.addEventListener(kind, noteInput, { passive: true });
  }
  document.addEventListener("visibilitychange", () => {
    tick();
    clock.visible = document.visibilityState === "visible";
    if (!clock.visible) {
      report();
    }
  });
  window.addEventListener("pagehide", report);
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      shown = 0;
      show(wanted);
    }, 200);
  });
  setInterval(tick, TICK_MS);
  setInterval(report, HEARTBEAT_MS);
}

async function start() {
  listen();
  try {
    documentProxy = await pdfjs.getDocument({
      url: root.dataset.fileUrl,
      isEvalSupported: false,
      disableRange: true,
      disableStream: true,
      disableAutoFetch: true,
      enableXfa: false,
    }).promise;
  } catch (error) {
    failed(error);
    return;
  }
  pageCount = documentProxy.numPages;
  root.dataset.pages = String(pageCount);
  await show(1);
}

start();

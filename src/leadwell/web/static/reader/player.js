// The hosted video player reports how much of the video was watched: 25, 50, 75 and 100 %.
//
// "Watched" is the part of the video actually played (the union of the played ranges), so seeking
// to the end counts for nothing. Each report repeats this page load's totals (cumulative), so
// repeated or late reports change nothing on the server.
const QUARTERS = [25, 50, 75, 100];
const DONE_PERCENT = 99; // the last second or two often goes unplayed

const video = document.getElementById("player");
const sessionId = newSessionId();
let sequence = 0;
let reported = { percent: -1, seconds: -1 };

function newSessionId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

function playedSeconds() {
  let total = 0;
  for (let index = 0; index < video.played.length; index += 1) {
    total += video.played.end(index) - video.played.start(index);
  }
  return total;
}

function knownDuration() {
  // Some files (live recordings) only learn their length at the end: the magnet's stated length
  // stands in until then.
  if (Number.isFinite(video.duration) && video.duration > 0) {
    return video.duration;
  }
  return Number(video.dataset.duration) || 0;
}

function quarterReached() {
  const duration = knownDuration();
  if (!Number.isFinite(duration) || duration <= 0) {
    return 0;
  }
  const percent = (100 * playedSeconds()) / duration;
  const reached = QUARTERS.filter((mark) => percent >= (mark === 100 ? DONE_PERCENT : mark));
  return reached.length ? reached[reached.length - 1] : 0;
}

function report(force) {
  const percent = quarterReached();
  const seconds = Math.floor(playedSeconds());
  const changed = percent > reported.percent || (force && seconds > reported.seconds);
  if (!changed || seconds === 0) {
    return;
  }
  sequence += 1;
  const body = JSON.stringify({ percent, seconds, s: sessionId, seq: sequence });
  if (navigator.sendBeacon(video.dataset.beaconUrl, body)) {
    reported = { percent, seconds };
  }
}

video.addEventListener("timeupdate", () => report(false));
video.addEventListener("ended", () => report(true));
video.addEventListener("pause", () => report(true));
window.addEventListener("pagehide", () => report(true));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") {
    report(true);
  }
});

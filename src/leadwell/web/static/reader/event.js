// Shows the event's start in the viewer's own time zone (the page says UTC without JavaScript).
const start = document.getElementById("event-start");
if (start) {
  const moment = new Date(start.getAttribute("datetime"));
  if (!Number.isNaN(moment.getTime())) {
    const format = new Intl.DateTimeFormat(undefined, {
      weekday: "long",
      year: "numeric",
      month: "long",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZoneName: "short",
    });
    start.textContent = format.format(moment);
    start.title = `${moment.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  }
}

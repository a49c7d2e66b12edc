/* Reports view (issue #17): a schedule's next run in the viewer's own time zone, from the
   UTC instant the server renders as <small class="cd-viewer-time" data-utc="ISO time">. */
(function () {
  function fill() {
    var spans = document.querySelectorAll(".cd-viewer-time[data-utc]");
    for (var i = 0; i < spans.length; i++) {
      var span = spans[i];
      var iso = span.getAttribute("data-utc");
      if (span.getAttribute("data-done") === iso) continue;
      var when = new Date(iso);
      if (isNaN(when.getTime())) continue;
      span.textContent = "yours: " + when.toLocaleString([], {
        weekday: "short", day: "2-digit", month: "short", hour: "2-digit",
        minute: "2-digit", timeZoneName: "short"});
      span.setAttribute("data-done", iso);
    }
  }
  setInterval(fill, 1000);
})();

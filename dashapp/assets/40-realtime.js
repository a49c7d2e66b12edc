/* Real-time view (issue #4): keeps "data as of 14:32:05 UTC, 12 s ago" and the stale-data
   warning current every second, in the browser, without a request. The server renders
   <span class="cd-rt-asof" data-newest="ISO time" data-label="data as of ..."
   data-stale-after="seconds">. */
(function () {
  function ago(seconds) {
    if (seconds < 90) return Math.round(seconds) + " s ago";
    if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
    if (seconds < 172800) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }
  function tick() {
    var span = document.querySelector(".cd-rt-asof");
    var warning = document.getElementById("realtime-stale");
    if (!span || !warning) return;
    var newest = span.getAttribute("data-newest");
    var staleAfter = parseFloat(span.getAttribute("data-stale-after") || "300");
    var base = span.getAttribute("data-label") || "";
    var message = null;
    if (!newest) {
      message = "No events have arrived for this company yet.";
    } else {
      var age = Math.max(0, (Date.now() - Date.parse(newest)) / 1000);
      span.textContent = base + ", " + ago(age);
      if (age > staleAfter) {
        message = "Data is stale: the newest event arrived " + ago(age) +
          ". Check that the event feed (or `campaign-dash simulate`) is running.";
      }
    }
    if (message) {
      warning.textContent = message;
      warning.classList.remove("d-none");
    } else {
      warning.classList.add("d-none");
    }
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
})();

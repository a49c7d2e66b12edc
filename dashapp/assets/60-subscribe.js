/* "Subscribe" on a view (layouts.components.page_header): opens the reports form with the
   view's sections and the page's filters as they are at the click (the URL the view keeps in
   step with its filter bar), not as they were when the page was drawn. */
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a.cd-subscribe");
  if (!link) return;
  var params = new URLSearchParams(window.location.search);
  params.set("view", link.getAttribute("data-view"));
  link.href = "/reports?" + params.toString();
}, true);

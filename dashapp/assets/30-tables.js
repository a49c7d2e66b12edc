/* Every data table of every view (a Bootstrap table with a header row and two rows or more)
   gets, in the browser and without a request: sortable columns (click a header: ascending,
   again: descending; money, counts, percentages and ratios compared as numbers, a dash
   last), a search box above tables of more than 8 rows, and "CSV" downloading the rows as
   shown (the search applied). The controls live in the table's own <caption>, so a table
   the server redraws comes back plain and is enhanced again; a sorted table whose rows the
   server updates in place is sorted again. Tables marked data-cd-plain are left alone. */
(function () {
  var SEARCH_FROM = 9;
  var SCALE = {k: 1e3, K: 1e3, m: 1e6, M: 1e6, b: 1e9, B: 1e9};
  var LEADING_NUMBER = /^([▲▼+]?)\s*([\-−]?)\s*[$€£]?\s*([\d,]*\.?\d+)\s*([kKmMbB]?)/;

  function text(cell) { return (cell.innerText || "").replace(/\s+/g, " ").trim(); }

  // What a cell sorts by: null for a dash, the text of a date, the number a figure starts
  // with ("$1,234", "-5.0 pp", "▼ 3.2%", "2.35x", "1.2M"), else the lower-case text.
  function value(cell) {
    var shown = text(cell);
    if (shown === "" || shown === "—" || shown === "-") return null;
    if (/^\d{4}-\d{2}/.test(shown)) return shown;
    var match = LEADING_NUMBER.exec(shown);
    if (match) {
      var number = parseFloat(match[3].replace(/,/g, "")) * (SCALE[match[4]] || 1);
      if (!isNaN(number)) return match[1] === "▼" || match[2] ? -number : number;
    }
    return shown.toLowerCase();
  }

  function compare(a, b) {
    if (a === null) return b === null ? 0 : 1;  // a dash sorts last either way
    if (b === null) return -1;
    if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
    return typeof a === "number" ? -1 : 1;
  }

  function rows(table) { return Array.prototype.slice.call(table.tBodies[0].rows); }

  function sort(table) {
    var column = parseInt(table.dataset.cdSortColumn, 10);
    if (isNaN(column)) return;
    var direction = table.dataset.cdSortDirection === "descending" ? -1 : 1;
    var body = table.tBodies[0];
    var sorted = rows(table).map(function (row, index) {
      var cell = row.cells[column];
      return {row: row, key: cell ? value(cell) : null, index: index};
    }).sort(function (x, y) {
      var order = x.key === null || y.key === null ? compare(x.key, y.key)
        : compare(x.key, y.key) * direction;
      return order || x.index - y.index;
    });
    // Already in order (the usual case after a redraw was sorted once): touch nothing, so
    // sorting causes no mutation and no new scan.
    if (sorted.every(function (item, index) { return item.index === index; })) return;
    sorted.forEach(function (item) { body.appendChild(item.row); });
  }

  // The header row over the columns: the last one when a table has two (a group row above).
  function headers(table) { return table.tHead.rows[table.tHead.rows.length - 1].cells; }

  // The header cells as the state says (the server may redraw them: they come back plain).
  function markHeaders(table) {
    Array.prototype.forEach.call(headers(table), function (th, column) {
      if (!text(th)) return;
      if (th.tabIndex !== 0) th.tabIndex = 0;
      var sorted = String(column) === table.dataset.cdSortColumn
        ? table.dataset.cdSortDirection : null;
      if (th.getAttribute("aria-sort") !== sorted) {
        if (sorted) th.setAttribute("aria-sort", sorted); else th.removeAttribute("aria-sort");
      }
    });
  }

  function onHeader(table, th) {
    var column = Array.prototype.indexOf.call(headers(table), th);
    if (column < 0 || !text(th)) return;
    var ascending = !(table.dataset.cdSortColumn === String(column)
                      && table.dataset.cdSortDirection === "ascending");
    table.dataset.cdSortColumn = column;
    table.dataset.cdSortDirection = ascending ? "ascending" : "descending";
    markHeaders(table);
    sort(table);
  }

  function filter(table, query) {
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    rows(table).forEach(function (row) {
      var shown = text(row).toLowerCase();
      row.style.display = words.every(function (w) { return shown.indexOf(w) >= 0; })
        ? "" : "none";
    });
  }

  function csvCell(value) {
    return /[",\n]/.test(value) ? '"' + value.replace(/"/g, '""') + '"' : value;
  }

  function download(table) {
    var header = Array.prototype.map.call(headers(table), text);
    var lines = [header.map(csvCell).join(",")];
    rows(table).forEach(function (row) {
      if (row.style.display === "none") return;
      lines.push(Array.prototype.map.call(row.cells, function (cell) {
        return csvCell(text(cell));
      }).join(","));
    });
    var card = table.closest(".card");
    var title = card && card.querySelector(".card-header");
    var name = ((title && text(title)) || "table").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60) || "table";
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], {type: "text/csv"}));
    link.download = name + ".csv";
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  function enhance(table) {
    if (table.dataset.cdPlain !== undefined || table.dataset.cdEnhanced) return;
    if (!table.tHead || !table.tHead.rows.length || !table.tBodies.length) return;
    if (rows(table).length < 2) return;
    table.dataset.cdEnhanced = "1";
    table.classList.add("cd-sortable");
    // Listeners on the table itself (kept when the server redraws its cells).
    function header(event) {
      var th = event.target.closest && event.target.closest("th");
      return th && table.tHead && table.tHead.contains(th) ? th : null;
    }
    table.addEventListener("click", function (event) {
      var th = header(event);
      if (th) onHeader(table, th);
    });
    table.addEventListener("keydown", function (event) {
      var th = header(event);
      if (th && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        onHeader(table, th);
      }
    });
    var caption = document.createElement("caption");
    caption.className = "cd-table-tools";
    if (rows(table).length >= SEARCH_FROM) {
      var search = document.createElement("input");
      search.type = "search";
      search.placeholder = "Search this table";
      search.className = "form-control form-control-sm cd-table-search";
      search.setAttribute("aria-label", "Search this table");
      search.addEventListener("input", function () { filter(table, search.value); });
      caption.appendChild(search);
    }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-link btn-sm cd-table-csv";
    button.textContent = "CSV";
    button.title = "Download these rows as CSV";
    button.addEventListener("click", function () { download(table); });
    caption.appendChild(button);
    table.insertBefore(caption, table.firstChild);
  }

  function scan() {
    document.querySelectorAll("table.table").forEach(function (table) {
      enhance(table);
      if (table.dataset.cdEnhanced && table.tHead && table.tHead.rows.length) {
        markHeaders(table);
        var search = table.querySelector("caption .cd-table-search");
        if (search && search.value) filter(table, search.value);
      }
      // The server updated a sorted table's rows in place: sort them again.
      if (table.dataset.cdSortColumn !== undefined) sort(table);
    });
  }

  // Only changes that touch a table rescan the page: the real-time view's clock ticks every
  // second and must not cost a pass over every table.
  function touchesTable(mutations) {
    for (var i = 0; i < mutations.length; i++) {
      var target = mutations[i].target;
      var element = target.nodeType === 1 ? target : target.parentElement;
      if (element && element.closest("table")) return true;
      var added = mutations[i].addedNodes;
      for (var j = 0; j < added.length; j++) {
        if (added[j].nodeType === 1 && (added[j].matches("table") || added[j].querySelector("table"))) {
          return true;
        }
      }
    }
    return false;
  }

  var pending = false;
  new MutationObserver(function (mutations) {
    if (pending || !touchesTable(mutations)) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; scan(); });
  }).observe(document.documentElement, {childList: true, subtree: true, characterData: true});
})();

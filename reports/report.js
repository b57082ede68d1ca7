// nsgcheck report: filter and sort the findings in the page (no network, no storage).
(function () {
  "use strict";
  var form = document.getElementById("controls");
  var list = document.getElementById("finding-list");
  if (!form || !list) { return; }
  var items = Array.prototype.slice.call(list.querySelectorAll("article.finding"));
  var shown = document.getElementById("shown");

  function checkedStatuses() {
    var out = {};
    Array.prototype.forEach.call(form.querySelectorAll("input[name=status]"), function (box) {
      out[box.value] = box.checked;
    });
    return out;
  }

  function apply() {
    var statuses = checkedStatuses();
    var showSuppressed = form.querySelector("input[name=suppressed]").checked;
    var q = form.querySelector("input[name=q]").value.trim().toLowerCase();
    var count = 0;
    items.forEach(function (el) {
      var ok = statuses[el.getAttribute("data-status")] !== false;
      if (ok && !showSuppressed && el.getAttribute("data-suppressed") === "1") { ok = false; }
      if (ok && q && el.textContent.toLowerCase().indexOf(q) < 0) { ok = false; }
      el.classList.toggle("is-hidden", !ok);
      if (ok) { count += 1; }
    });
    if (shown) { shown.textContent = count + " of " + items.length + " shown"; }
  }

  function sortBy(key) {
    var sorted = items.slice().sort(function (a, b) {
      var ka, kb;
      if (key === "coverage") {
        ka = parseFloat(a.getAttribute("data-coverage")); kb = parseFloat(b.getAttribute("data-coverage"));
        if (ka !== kb) { return ka - kb; }
      } else if (key === "subject" || key === "requirement") {
        ka = a.getAttribute("data-" + key); kb = b.getAttribute("data-" + key);
        if (ka !== kb) { return ka < kb ? -1 : 1; }
      }
      ka = parseInt(a.getAttribute("data-rank"), 10); kb = parseInt(b.getAttribute("data-rank"), 10);
      if (ka !== kb) { return ka - kb; }
      return items.indexOf(a) - items.indexOf(b);
    });
    sorted.forEach(function (el) { list.appendChild(el); });
  }

  form.addEventListener("change", function (ev) {
    if (ev.target && ev.target.name === "sort") { sortBy(ev.target.value); }
    apply();
  });
  form.addEventListener("input", apply);
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  // printing shows everything: open collapsed sections, undo filters
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.setAttribute("open", ""); });
  });
  form.hidden = false;
  apply();
})();

// nsgcheck report: page through root causes, fixes, advisories and passing groups, filter the
// root causes, and draw the subjects x requirements table. Everything comes from the data block
// embedded in the page (deflate + base64; no network, no storage). The only HTML inserted is
// the entries nsgcheck rendered and escaped itself; table text is set with textContent.
(function () {
  "use strict";
  var SYMBOL = {F: "✗", P: "◐", U: "?", S: "✓", N: "–"};
  var STATUS = {F: "fail", P: "partial", U: "unknown", S: "pass", N: "not_applicable"};
  var LABEL = {F: "fail", P: "partial", U: "unknown", S: "pass", N: "not applicable"};
  var RANK = {F: 0, P: 1, U: 2, S: 3, N: 4};
  var PAGE = 50;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function unpack() {
    var node = document.getElementById("nsgcheck-data");
    if (!node || typeof DecompressionStream === "undefined") { return Promise.reject(new Error("cannot unpack")); }
    var bin = atob(node.textContent.trim());
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).text().then(JSON.parse);
  }

  // ---- a list shown a page at a time, optionally filtered ---------------------------------
  function Pager(box, total, draw) {
    var self = this;
    this.total = total;            // entries (indexes 0..total-1)
    this.keep = null;              // filter: index -> bool
    this.page = 0;
    this.size = PAGE;
    this.draw = draw;              // draw(indexes of the page)
    if (box) {
      this.prev = el("button", "", "‹ previous"); this.prev.type = "button";
      this.next = el("button", "", "next ›"); this.next.type = "button";
      this.where = el("output", "where");
      this.prev.addEventListener("click", function () { self.show(self.page - 1); });
      this.next.addEventListener("click", function () { self.show(self.page + 1); });
      box.appendChild(this.prev); box.appendChild(this.where); box.appendChild(this.next);
    }
  }
  Pager.prototype.shown = function () {
    var out = [];
    for (var i = 0; i < this.total; i++) { if (!this.keep || this.keep(i)) { out.push(i); } }
    return out;
  };
  Pager.prototype.show = function (page) {
    var shown = this.shown();
    var pages = Math.max(1, Math.ceil(shown.length / this.size));
    this.page = Math.min(Math.max(0, page), pages - 1);
    this.draw(shown.slice(this.page * this.size, (this.page + 1) * this.size));
    if (this.where) {
      this.where.textContent = " page " + (this.page + 1) + " of " + pages + " (" + shown.length.toLocaleString("en-US") + ") ";
      this.prev.disabled = this.page === 0;
      this.next.disabled = this.page >= pages - 1;
    }
  };
  Pager.prototype.reveal = function (index) {
    var shown = this.shown();
    var at = shown.indexOf(index);
    if (at < 0) { this.keep = null; at = index; }
    this.show(Math.floor(at / this.size));
  };

  var anchorOwner = {};   // element id -> [pager, index]

  function fragmentList(data, name, filterForm) {
    var list = document.querySelector('[data-list="' + name + '"]');
    var fragments = data.lists[name];
    if (!list || !fragments) { return; }
    var box = document.querySelector('.pager[data-for="' + list.id + '"]');
    var pager = new Pager(box, fragments.length, function (indexes) {
      list.innerHTML = indexes.map(function (i) { return fragments[i]; }).join("");   // rendered and escaped by nsgcheck
    });
    (data.anchors[name] || []).forEach(function (g, i) { anchorOwner["g" + g] = [pager, i]; });
    if (name === "fixes") { fragments.forEach(function (_, i) { anchorOwner["fix" + i] = [pager, i]; }); }
    var form = box ? box.closest("form") : null;
    if (form && filterForm) {
      var status = data.status[name], search = data.search[name];
      var apply = function () {
        var allowed = {};
        Array.prototype.forEach.call(form.querySelectorAll("input[name=status]"), function (b) { allowed[b.value] = b.checked; });
        var q = form.querySelector("input[name=q]").value.trim().toLowerCase();
        pager.keep = function (i) { return allowed[status[i]] !== false && (!q || search[i].indexOf(q) >= 0); };
        pager.show(0);
      };
      form.addEventListener("change", apply);
      form.addEventListener("input", apply);
    }
    if (form) {
      form.addEventListener("submit", function (ev) { ev.preventDefault(); });
      form.hidden = fragments.length <= PAGE && !filterForm;
    }
    pager.show(0);
  }

  // ---- the subjects x requirements table --------------------------------------------------
  function matrix(m) {
    var body = document.getElementById("matrix-body");
    if (!body) { return; }
    var size = parseInt(body.getAttribute("data-page-size"), 10) || 100;
    var rows = m.rows.map(function (row) {
      var worst = "N", rank = 9;
      row[3].forEach(function (g) { if (g >= 0 && RANK[m.status[g]] < rank) { rank = RANK[m.status[g]]; worst = m.status[g]; } });
      return {row: row, worst: worst, text: (row[1] + " " + row[2]).toLowerCase()};
    });
    var draw = function (indexes) {
      var frag = document.createDocumentFragment();
      indexes.forEach(function (k) {
        var row = rows[k].row;
        var tr = el("tr");
        tr.setAttribute("data-worst", STATUS[rows[k].worst]);
        var th = el("th", "subj");
        th.scope = "row";
        th.appendChild(el("span", "kind", row[0]));
        th.appendChild(document.createTextNode(" " + row[1] + " "));
        if (row[2]) { th.appendChild(el("span", "addr", row[2])); }
        tr.appendChild(th);
        row[3].forEach(function (g, i) {
          var td;
          if (g < 0) {
            td = el("td", "cell none");
            td.appendChild(el("span", "sr", "not evaluated"));
          } else {
            var code = m.status[g], held = m.held[g] === "1";
            td = el("td", "cell st-" + STATUS[code] + (held ? " supp" : ""));
            var a = el("a");
            a.href = "#g" + g;
            a.title = m.columns[i] + ": " + LABEL[code] + (held ? " (suppressed or in the baseline)" : "");
            a.appendChild(el("span", "sym", SYMBOL[code])).setAttribute("aria-hidden", "true");
            a.appendChild(el("span", "sr", LABEL[code]));
            if (held) { a.appendChild(el("span", "supp-mark", "§")); }
            td.appendChild(a);
          }
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      });
      body.textContent = "";
      body.appendChild(frag);
    };
    var form = document.getElementById("matrix-controls");
    var pager = new Pager(form ? form.querySelector(".pager") : null, rows.length, draw);
    pager.size = size;
    if (form) {
      var apply = function () {
        var q = form.querySelector("input[name=q]").value.trim().toLowerCase();
        var worst = form.querySelector("select[name=worst]").value;
        pager.keep = (q || worst) ? function (k) {
          return (!q || rows[k].text.indexOf(q) >= 0) && (!worst || STATUS[rows[k].worst] === worst);
        } : null;
        pager.show(0);
      };
      form.addEventListener("change", apply);
      form.addEventListener("input", apply);
      form.addEventListener("submit", function (ev) { ev.preventDefault(); });
      form.hidden = false;
    }
    pager.show(0);
  }

  // ---- links to an entry on another page -----------------------------------------------
  function goTo(hash) {
    if (!hash || hash.length < 2) { return; }
    var id = decodeURIComponent(hash.slice(1));
    var owner = anchorOwner[id];
    if (owner) { owner[0].reveal(owner[1]); }
    var target = document.getElementById(id);
    if (!target) { return; }
    for (var d = target.parentElement; d; d = d.parentElement) {
      if (d.tagName === "DETAILS") { d.open = true; }
    }
    target.scrollIntoView();
  }

  unpack().then(function (data) {
    fragmentList(data, "causes", true);
    fragmentList(data, "held", false);
    fragmentList(data, "fixes", false);
    fragmentList(data, "advisories", false);
    fragmentList(data, "passing", false);
    matrix(data.matrix);
    document.addEventListener("click", function (ev) {
      var a = ev.target.closest ? ev.target.closest("a[href^='#']") : null;
      if (a) { ev.preventDefault(); history.replaceState(null, "", a.getAttribute("href")); goTo(a.getAttribute("href")); }
    });
    window.addEventListener("hashchange", function () { goTo(location.hash); });
    // printing opens collapsed sections (the lists print the page they show)
    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.setAttribute("open", ""); });
    });
    goTo(location.hash);
    document.documentElement.setAttribute("data-ready", "1");
  }).catch(function (err) {
    var note = el("p", "hint", "This browser cannot unpack the report's data (" + err.message +
                  "): the first page of each list is shown; the JSON report has everything.");
    var main = document.querySelector("main");
    if (main) { main.insertBefore(note, main.firstChild); }
    document.documentElement.setAttribute("data-ready", "error");
  });
})();

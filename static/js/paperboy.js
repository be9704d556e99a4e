// Paperboy's own small script. The CSP allows no inline code, so every page behaviour
// lives here and is switched on by data attributes in the templates.
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  // No script submits a form by itself: the confirm and feedback pages change something
  // only when a person presses their button (a mail scanner may run scripts too).

  // Sign-up: the hidden time_zone field gets the browser's zone.
  function fillTimeZone() {
    var zone = browserZone();
    document.querySelectorAll("input[data-browser-time-zone]").forEach(function (input) {
      if (!input.value && zone) input.value = zone;
    });
    // Preferences: still on the default UTC? Offer the browser's zone, marked as a suggestion.
    document.querySelectorAll("select[data-suggest-browser-zone='1']").forEach(function (select) {
      if (!zone || zone === select.value) return;
      var known = Array.prototype.some.call(select.options, function (o) {
        return o.value === zone;
      });
      // Our list leaves out old alias names; the server still accepts any IANA zone.
      if (!known) select.add(new Option(zone, zone));
      select.value = zone;
      var note = document.querySelector("[data-tz-note]");
      if (note) note.textContent = "We filled in your browser's time zone (" + zone + "). Save to keep it.";
    });
  }

  // Preferences: type to filter the categories; matching groups open.
  function categorySearch() {
    var box = document.querySelector("[data-category-search]");
    if (!box) return;
    box.hidden = false;
    var input = box.querySelector("input");
    var count = document.getElementById("category-count");
    var groups = document.querySelectorAll("[data-group]");
    var initiallyOpen = Array.prototype.map.call(groups, function (g) { return g.open; });
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
      var shown = 0;
      groups.forEach(function (group, i) {
        var any = false;
        group.querySelectorAll(".category-list label").forEach(function (label) {
          var text = label.textContent.toLowerCase();
          var match = words.every(function (w) { return text.indexOf(w) !== -1; });
          label.hidden = !match;
          if (match) { any = true; shown += 1; }
        });
        group.hidden = words.length > 0 && !any;
        group.open = words.length > 0 ? any : initiallyOpen[i];
      });
      count.textContent = words.length ? shown + " matching categor" + (shown === 1 ? "y" : "ies") : "";
    });
    // Enter in the search box would submit the whole form.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();
    });
  }

  function groupCounts() {
    document.querySelectorAll("[data-group]").forEach(function (group) {
      var label = group.querySelector("[data-group-count]");
      function update() {
        var n = group.querySelectorAll("input[type=checkbox]:checked").length;
        label.textContent = n ? "(" + n + " chosen)" : "";
      }
      group.addEventListener("change", update);
      // A category followed from the description's reading is ticked in place.
      group.addEventListener("htmx:oobAfterSwap", update);
    });
  }

  // The weekday only matters for weekly digests.
  function weekdayToggle() {
    var block = document.querySelector("[data-weekly-only]");
    var radios = document.querySelectorAll("input[data-frequency]");
    if (!block || !radios.length) return;
    function update() {
      var weekly = document.querySelector("input[data-frequency]:checked");
      block.hidden = !(weekly && weekly.value === "weekly");
    }
    radios.forEach(function (r) { r.addEventListener("change", update); });
    update();
  }

  // Preferences: Undo in "Your feedback on papers" answers in place, as the other undos
  // do; a reload would lose what is typed in the form and not saved. One listener for the
  // whole list: an hx-post on each of its buttons would weigh kilobytes on a long list.
  function feedbackUndoInPlace() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("#feedback button[form='feedback-undo']");
      var form = document.getElementById("feedback-undo");
      if (!button || !form || !window.htmx) return;
      event.preventDefault();
      window.htmx.ajax("POST", form.action, {
        source: form,
        swap: "none",  // the list comes back out of band
        values: { arxiv_id: button.value, next: "feedback" },
      });
    });
  }

  function start() {
    fillTimeZone();
    feedbackUndoInPlace();
    categorySearch();
    groupCounts();
    weekdayToggle();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// Keeps the keyword chips under a ChipsInput in step while staff type (admin only).
// The server parses again on save; this is only a preview of the same rules.
(function () {
  "use strict";
  function parse(text) {
    var out = [], seen = {}, re = /(-?)(?:"([^"]*)"|([^\s,"]+))/g, m;
    while ((m = re.exec(text)) !== null) {
      var item = (m[1] + (m[2] !== undefined ? m[2] : m[3])).replace(/\s+/g, " ").trim();
      if (item && item !== "-" && !seen[item.toLowerCase()]) { seen[item.toLowerCase()] = 1; out.push(item); }
    }
    return out;
  }
  function render(input, box) {
    box.textContent = "";
    parse(input.value).forEach(function (chip) {
      var span = document.createElement("span");
      span.className = "badge " + (chip.charAt(0) === "-" ? "badge-failed" : "badge-cat");
      span.textContent = chip;
      box.appendChild(span);
      box.appendChild(document.createTextNode(" "));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chips-for]").forEach(function (box) {
      var input = document.getElementById(box.getAttribute("data-chips-for"));
      if (input) { input.addEventListener("input", function () { render(input, box); }); }
    });
  });
})();

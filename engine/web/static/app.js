// Progressive enhancement only: every page works without this file.
document.documentElement.classList.add("js");
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-toggle-all]");
  if (!button) return;
  var list = document.getElementById(button.getAttribute("data-toggle-all"));
  if (!list) return;
  var all = list.querySelectorAll("details");
  var open = Array.prototype.some.call(all, function (d) { return !d.open; });
  all.forEach(function (d) { d.open = open; });
});
// Open the rule a link points at (#rule-...), so following a link shows its explanation.
window.addEventListener("hashchange", function () {
  var target = document.getElementById(location.hash.slice(1));
  if (target && target.tagName === "DETAILS") target.open = true;
});

// podsift episode page: time links seek the player (#t=SECONDS), and the transcript follows
// along. Everything else on the site works without JavaScript.
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) return;
  var follow = document.getElementById("follow");

  function seek(t, play) {
    if (!isFinite(t) || t < 0) return;
    player.currentTime = t;
    if (play) {
      var p = player.play();
      if (p && p.catch) p.catch(function () {});
    }
  }

  function fromHash() {
    var m = /^#t=(\d+(?:\.\d+)?)/.exec(window.location.hash);
    return m ? parseFloat(m[1]) : null;
  }

  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[data-t]") : null;
    if (!a) return;
    e.preventDefault();
    var t = parseFloat(a.getAttribute("data-t"));
    history.replaceState(null, "", "#t=" + Math.floor(t));
    seek(t, true);
  });

  window.addEventListener("hashchange", function () {
    var t = fromHash();
    if (t !== null) seek(t, true);
  });

  var initial = fromHash();
  if (initial !== null) {
    if (player.readyState >= 1) seek(initial, false);
    else player.addEventListener("loadedmetadata", function () { seek(initial, false); }, { once: true });
  }

  var lines = Array.prototype.slice.call(document.querySelectorAll("#transcript li[data-start]"));
  var starts = lines.map(function (li) { return parseFloat(li.getAttribute("data-start")); });
  var current = -1;
  player.addEventListener("timeupdate", function () {
    var t = player.currentTime, lo = 0, hi = starts.length - 1, idx = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t) { idx = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    if (idx === current) return;
    if (current >= 0) {
      lines[current].classList.remove("current");
      lines[current].removeAttribute("aria-current");
    }
    current = idx;
    if (idx >= 0) {
      lines[idx].classList.add("current");
      lines[idx].setAttribute("aria-current", "true");
      if (follow && follow.checked && !player.paused) lines[idx].scrollIntoView({ block: "nearest" });
    }
  });
})();

// Deskpool portal. Everything works without this script; it only saves a click on the
// "preparing" page: the Try again form is posted again after its Retry-After seconds, until
// the answer is the desktop's connection file (which the browser downloads).
(function () {
  "use strict";

  function retryWhenDue() {
    var form = document.querySelector("form[data-retry-after]");
    if (!form) { return; }
    var seconds = parseInt(form.getAttribute("data-retry-after"), 10);
    if (!(seconds > 0 && seconds <= 300)) { seconds = 5; }
    var status = document.getElementById("retry-status");
    if (status) { status.textContent = "This page asks again by itself in " + seconds + " seconds."; }
    window.setTimeout(function () {
      if (status) { status.textContent = "Asking again…"; }
      HTMLFormElement.prototype.submit.call(form);
    }, seconds * 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", retryWhenDue);
  } else {
    retryWhenDue();
  }
})();

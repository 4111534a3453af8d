// Store tablet helpers: keep the scan field focused for the next scan, make every refusal visible and
// audible in the page's one message place (#store-message), and the small behaviours of the store pages
// (no inline script or hx-on attribute in any template, so a Content-Security-Policy can forbid them).
(function () {
  "use strict";

  var scanning = false;  // a scan is on its way to the server
  var waiting = [];      // scans made meanwhile, sent one by one in order

  // Keys a scanner types while the page swaps in an answer (the field is being replaced, nothing has the
  // focus) are kept and put into the scan field once it is back: a code is never cut short.
  var typedAhead = "";
  document.addEventListener("keydown", function (event) {
    var active = document.activeElement;
    if ((active && active !== document.body && active.isConnected) || !document.querySelector("[data-scan-form]")) {
      return;
    }
    if (event.key.length === 1 && event.key !== " " && !event.ctrlKey && !event.metaKey && !event.altKey) {
      typedAhead += event.key;
    } else if (event.key === "Enter" && typedAhead) {
      typedAhead += "\n";
    } else {
      return;
    }
    event.preventDefault();
  }, true);

  function takeTypedAhead(field) {
    if (!typedAhead) { return; }
    var parts = (field.value + typedAhead).split("\n");
    typedAhead = "";
    field.value = parts.pop();
    parts.forEach(function (code) { if (code.trim()) { waiting.push(code); } });
    window.setTimeout(sendNextScan, 0);
  }

  function focusScanField() {
    var field = document.querySelector("[data-scan-field]");
    if (field && field.closest("[data-scan-form]")) { takeTypedAhead(field); }
    var active = document.activeElement;
    // Never steal focus from a field the associate is typing into or a choice they are making.
    if (!field || (active && active !== document.body && active !== field &&
        /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName))) {
      return;
    }
    field.focus();
  }

  var audio = null;
  function beep(frequency, duration) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.frequency.value = frequency;
      oscillator.type = "square";
      gain.gain.value = 0.08;
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + duration);
    } catch (e) { /* no sound on this device: the message on screen is enough */ }
  }

  function signalRefusal() {
    beep(220, 0.35);  // low and long: wrong item or refused
    if (navigator.vibrate) { navigator.vibrate([120, 60, 120]); }
    document.body.setAttribute("data-last-sound", "error");  // what the browser tests check
  }

  function messageArea() { return document.getElementById("store-message"); }

  // A refusal the server did not word (an error page, no network): never a silent failure.
  function showRefusal(text) {
    var area = messageArea();
    if (area) {
      var note = document.createElement("div");
      note.className = "store-message store-message-error";
      note.setAttribute("role", "alert");
      note.setAttribute("data-level", "error");
      note.textContent = text;
      area.replaceChildren(note);
    } else {
      window.alert(text);
    }
    signalRefusal();
    focusScanField();
  }

  function hasAlert(element) {
    return element && element.querySelector && element.querySelector("#store-message [role=alert], [role=alert]");
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (hasAlert(messageArea())) { signalRefusal(); }  // a page rendered with a refusal (no htmx)
    focusScanField();
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    // Logged out meanwhile (the session ended): the login page must not be drawn inside this one.
    if (xhr.responseURL && xhr.responseURL.indexOf("/accounts/login/") !== -1) {
      event.detail.shouldSwap = false;
      window.location.reload();
      return;
    }
    // Every refusal the views word themselves is retargeted to #store-message. Anything else with an
    // error status (an error page) must not be drawn inside the page: say so in the message place.
    if (xhr.status >= 400 && !xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      showRefusal("Not done (error " + xhr.status + "). Reload the page and try again.");
    }
  });

  document.body.addEventListener("htmx:sendError", function () {
    showRefusal("No connection: nothing was done. Check the network and try again.");
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "store-message" && hasAlert(target)) {
      signalRefusal();
    }
    focusScanField();
  });

  // A scanner types the next code and Enter before the answer to the last one is back. Each scan goes out
  // alone, in order, from the form the page shows once the answer is in (it carries the job's new version):
  // scans made meanwhile wait in `waiting`, none is lost or sent twice.

  function isScanForm(element) {
    return element && element.matches && element.matches("form[data-scan-form]");
  }

  function sendNextScan() {
    var form = document.querySelector("form[data-scan-form]");
    if (scanning || !waiting.length || !form || !form.hasAttribute("data-wired")) { return; }
    form.querySelector("[data-scan-field]").value = waiting.shift();
    form.requestSubmit();
  }

  // A scan form htmx has not wired up yet (just swapped in) would post the page the old way: wait for it.
  document.body.addEventListener("htmx:afterProcessNode", function (event) {
    if (isScanForm(event.target)) {
      event.target.setAttribute("data-wired", "");
      window.setTimeout(sendNextScan, 0);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!isScanForm(form) || (!scanning && form.hasAttribute("data-wired"))) { return; }
    event.preventDefault();
    event.stopImmediatePropagation();  // htmx must not send it now: it waits its turn
    var field = form.querySelector("[data-scan-field]");
    if (field && field.value.trim()) { waiting.push(field.value); }
    if (field) { field.value = ""; }
  }, true);

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (!isScanForm(event.detail.elt)) { return; }
    scanning = true;
    var field = event.detail.elt.querySelector("[data-scan-field]");
    if (field) { field.value = ""; }  // the request holds the code: the field is ready for the next scan
    // Watched on the request itself: the form that sent it may be gone from the page when the answer is in.
    var xhr = event.detail.xhr;
    xhr.addEventListener("loadend", function () {
      scanning = false;
      if (!xhr.status) { waiting = []; }  // no connection: the associate is told, and starts over
      window.setTimeout(sendNextScan, 0);  // the answer is on the page (a new form sends once wired up)
    });
  });

  // The counter's search field is also its scan field. Enter (a scanner ends with it) opens the pickup of a
  // code; the search-as-you-type request still waiting for its delay must not follow with the same text and
  // wipe the answer. A refused code is cleared so the next scan starts in an empty field.
  document.body.addEventListener("keydown", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-scan-search] [data-scan-field]") && event.key !== "Enter") {
      delete field.dataset.submitted;
    }
  });
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var form = elt.closest && elt.closest("[data-scan-search]");
    if (!form) { return; }
    var field = form.querySelector("[data-scan-field]");
    if (elt === form) {
      field.dataset.submitted = field.value;
    } else if (elt === field && field.dataset.submitted === field.value) {
      event.preventDefault();
    }
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form.matches && form.matches("[data-scan-search]") && event.detail.xhr.status >= 400) {
      var field = form.querySelector("[data-scan-field]");
      field.value = "";
      field.dataset.submitted = "";
    }
  });

  // At the counter: a refused item needs its reason, asked for as soon as the box is ticked.
  document.body.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("input[name=refuse]")) {
      var reason = box.form && box.form.elements["reason-" + box.value];
      if (reason) {
        reason.required = box.checked;
        if (box.checked) { reason.focus(); }
      }
    }
  });
})();

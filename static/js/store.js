// Store tablet helpers: keep the scan field focused for the next scan, and make refusals audible.
(function () {
  "use strict";

  function focusScanField() {
    var field = document.querySelector("[data-scan-field]");
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

  document.addEventListener("DOMContentLoaded", focusScanField);
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "store-message" && target.querySelector("[role=alert]")) {
      beep(220, 0.35);  // low and long: wrong item or refused
      if (navigator.vibrate) { navigator.vibrate([120, 60, 120]); }
    } else if (target && target.id !== "store-message") {
      var message = document.getElementById("store-message");
      if (message) { message.innerHTML = ""; }  // a successful action clears an old refusal
    }
    focusScanField();
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.hasAttribute && form.hasAttribute("data-scan-form")) {
      var field = form.querySelector("[data-scan-field]");
      if (field) { field.value = ""; }  // ready for the next scan, right or wrong
    }
  });
})();

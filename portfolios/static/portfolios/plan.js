// The rebalancing plan's "Copy" button: puts the trades as text on the
// clipboard. Without JavaScript the button stays hidden and the text can be
// selected and copied by hand.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var text = document.getElementById(button.dataset.copy);
    var status = document.getElementById(button.dataset.copyStatus);
    if (!text) {
      return;
    }
    text.addEventListener("focus", function () {
      text.select();
    });
    if (!navigator.clipboard) {
      return; // not a secure context: selecting by hand still works
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(text.value).then(
        function () {
          status.textContent = "Copied.";
        },
        function () {
          text.select();
          status.textContent = "Could not copy: the text is selected, copy it by hand.";
        }
      );
    });
  });
})();
